// Request buffering (HAProxy's option http-buffer-request): no upstream request is started until the client
// has sent its whole body or its first retry.maxBufferBytes; past that the body streams, whole and in order.
// A client that never sends that much is cut (408) or refused (413) without the upstream ever seeing it.
import { request, type ClientRequest } from 'node:http'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'
import { gateway, upstream, type HasTeardown } from './setup.ts'

const MAX_BUFFER = 1024

/** Counts every request the upstream starts to receive (complete or not). */
function countRequests (u: TestUpstream): { count: number } {
  const seen = { count: 0 }
  u.server.on('request', () => { seen.count++ })
  return seen
}

function openUpload (t: HasTeardown, url: string, onResponse: (status: number, body: string) => void): ClientRequest {
  const req = request(url, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
    let text = ''
    res.on('data', (chunk: Buffer) => { text += chunk.toString() })
    res.once('end', () => onResponse(res.statusCode ?? 0, text))
  })
  req.on('error', () => { /* cut by the gateway or destroyed in teardown */ })
  t.teardown(() => { req.destroy() })
  return req
}

t.test('a chunked body below the buffer size goes upstream only once complete, whole', async (t) => {
  const u = await upstream(t, 'u')
  const seen = countRequests(u)
  const gw = await gateway(t, { pools: { p: { targets: [u.url], retry: { maxBufferBytes: MAX_BUFFER } } }, routes: [{ path: '/', pool: 'p' }] })
  let answer: { status: number; body: string } | undefined
  const req = openUpload(t, `${gw.url}/up`, (status, body) => { answer = { status, body } })
  req.write(Buffer.alloc(100, 1))
  // a request the gateway has admitted and is reading: a second request on the same gateway gets through meanwhile
  t.equal((await httpRequest(`${gw.url}/other`)).status, 200)
  t.equal(seen.count, 1, 'only the other request reached the upstream; the upload is held at the gateway')
  req.end(Buffer.alloc(200, 2))
  await waitFor(() => answer !== undefined)
  t.equal(answer!.status, 200)
  t.equal((JSON.parse(answer!.body) as { bodyBytes: number }).bodyBytes, 300)
  t.equal(seen.count, 2)
})

t.test('a body over the buffer size streams whole: its first bytes, then the rest', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url], retry: { maxBufferBytes: MAX_BUFFER } } }, routes: [{ path: '/', pool: 'p' }] })
  for (const chunked of [false, true]) {
    const size = 300 * 1024 + 7
    const body = new PassThrough()
    const sent = httpRequest(`${gw.url}/big`, {
      method: 'PUT',
      headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(size) },
      body,
    })
    // in pieces, so the prefix and the rest arrive apart
    for (let left = size; left > 0; left -= 10_000) body.write(Buffer.alloc(Math.min(10_000, left), 7))
    body.end()
    const res = await sent
    t.equal(res.status, 200, chunked ? 'chunked' : 'content-length')
    t.equal(res.echo().bodyBytes, size, 'every byte arrived, once')
  }
  // (a chunked body is logged decoded, as a length-delimited one: both lines are exact)
  const line = gw.accessLogs().find((l) => l.path === '/big')
  t.equal(Number(line?.bytesIn), 300 * 1024 + 7, 'the access log counts the whole body in')
})

t.test('a client that never sends its first bytes is cut without reaching the upstream', async (t) => {
  const u = await upstream(t, 'u')
  const seen = countRequests(u)
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], retry: { maxBufferBytes: MAX_BUFFER }, timeouts: { requestMs: 300 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  let status = 0
  const req = openUpload(t, `${gw.url}/slow`, (s) => { status = s })
  req.write(Buffer.alloc(10, 1))
  await waitFor(() => status !== 0)
  t.equal(status, 408, 'request_timeout')
  t.equal(seen.count, 0, 'the upstream never saw it')
})

t.test('a chunked body over the route limit is refused before it reaches the upstream', async (t) => {
  const u = await upstream(t, 'u')
  const seen = countRequests(u)
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], retry: { maxBufferBytes: MAX_BUFFER } } },
    routes: [{ path: '/', pool: 'p', maxBodyBytes: 100 }],
  })
  let answer: { status: number; body: string } | undefined
  const req = openUpload(t, `${gw.url}/big`, (status, body) => { answer = { status, body } })
  req.write(Buffer.alloc(150, 1)) // over the limit, under the buffer size, and the body goes on
  await waitFor(() => answer !== undefined)
  t.equal(answer!.status, 413)
  t.equal((JSON.parse(answer!.body) as { error: string }).error, 'body_too_large')
  t.equal(seen.count, 0, 'the upstream never saw it')
})
