// Request size limits: a target over server.maxUrlBytes → 414, headers over server.maxHeaderBytes → 431 (Node's
// parser), a body over the route's maxBodyBytes → 413, counted as it streams (chunked) or from Content-Length.
// The limit is inclusive (README: bodies *over* maxBodyBytes are refused): a streamed body of exactly that size passes.
import { connect } from 'node:net'
import t from 'tap'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream, type Tap } from './setup.ts'
import { Readable } from 'node:stream'

async function setup (t: Tap) {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, {
    server: { maxUrlBytes: 1024, maxHeaderBytes: 4096 },
    pools: { p: { targets: [u.url], retry: { maxBufferBytes: 0 } } },
    routes: [{ path: '/upload', pool: 'p', maxBodyBytes: 1000 }, { path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  return { u, gw }
}

/** Sends raw bytes, returns the status line's code (the connection may be closed right after). */
function raw (url: string, bytes: string): Promise<number> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes))
    let data = ''
    socket.on('data', (d) => { data += d.toString('latin1'); const m = /^HTTP\/1\.1 (\d{3})/.exec(data); if (m) { resolve(Number(m[1])); socket.destroy() } })
    socket.on('error', reject)
    socket.on('close', () => resolve(0))
  })
}

t.test('a request target over maxUrlBytes is 414 uri_too_long; just under passes', async (t) => {
  const { gw, u } = await setup(t)
  const long = await httpRequest(`${gw.url}/${'a'.repeat(1100)}`)
  t.equal(long.status, 414)
  t.equal(long.json<ErrorBody>().error, 'uri_too_long')
  t.equal((await httpRequest(`${gw.url}/${'a'.repeat(900)}`)).status, 200)
  t.equal(u.hits, 1, 'the long one never reached the upstream')
})

t.test('headers over maxHeaderBytes are 431', async (t) => {
  const { gw, u } = await setup(t)
  t.equal(await raw(gw.url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(5000)}\r\n\r\n`), 431)
  t.equal(u.hits, 0)
})

t.test("a body over the route's maxBodyBytes is 413 body_too_large, by Content-Length or counted while chunked", async (t) => {
  const { gw, u } = await setup(t)
  const declared = await httpRequest(`${gw.url}/upload/x`, { method: 'POST', body: Buffer.alloc(2000, 'x') })
  t.equal(declared.status, 413)
  t.equal(declared.json<ErrorBody>().error, 'body_too_large')
  t.equal(u.hits, 0, 'refused before anything was sent')
  const chunks = Readable.from((async function * () { for (let i = 0; i < 5; i++) yield Buffer.alloc(400, 'c') })())
  const streamed = await httpRequest(`${gw.url}/upload/x`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: chunks })
  t.equal(streamed.status, 413)
  t.equal(streamed.json<ErrorBody>().error, 'body_too_large')
  const small = await httpRequest(`${gw.url}/upload/x`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: Readable.from([Buffer.alloc(500, 's')]) })
  t.equal(small.status, 200)
  t.equal(small.echo().bodyBytes, 500)
  const elsewhere = await httpRequest(`${gw.url}/other`, { method: 'POST', body: Buffer.alloc(2000, 'x') })
  t.equal(elsewhere.status, 200, 'other routes have no limit')
  t.equal(gw.gateway.pools().get('p')!.breaker.state, 'closed', 'never counted against the upstream')
})

t.test("a chunked body of exactly maxBodyBytes, streamed, is not over the limit: it reaches the upstream whole", async (t) => {
  // README: "request bodies over this are refused 413". A streamed (chunked) upload is counted as it passes
  // (maxBufferBytes 0 here, so none of it is held): the byte that makes it exactly the limit is not over it.
  const { gw, u } = await setup(t)
  const chunks = Readable.from((async function * () { for (let i = 0; i < 4; i++) yield Buffer.alloc(250, 'e') })())
  const exact = await httpRequest(`${gw.url}/upload/x`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: chunks })
  t.equal(exact.status, 200)
  t.equal(exact.echo().bodyBytes, 1000, 'all 1000 bytes reached the upstream')
  t.equal(u.hits, 1)
})
