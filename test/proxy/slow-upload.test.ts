// The response deadline (requestMs) of a streamed upload starts once the request has been sent, as in Envoy:
// an upload that takes longer than requestMs still succeeds. A buffered body starts the clock at once, and a
// streamed upload to an upstream that never answers still times out after it has been sent.
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream } from './setup.ts'

const routes = [{ path: '/', pool: 'p' }]
const CHUNKS = 8
const CHUNK_BYTES = 8 * 1024
const GAP_MS = 100

/** 64 KiB in 8 chunks, GAP_MS apart (about 700 ms from the first chunk to the last). */
function slowBody (): Readable {
  return Readable.from((async function * () {
    for (let i = 0; i < CHUNKS; i++) {
      if (i > 0) await sleep(GAP_MS)
      yield Buffer.alloc(CHUNK_BYTES, 'u')
    }
  })())
}

t.test('a streamed upload longer than requestMs is not cut off by the response deadline', async (t) => {
  const u = await upstream(t, 'u')
  // maxBufferBytes 1024: the 64 KiB body streams to the upstream instead of being buffered
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], timeouts: { requestMs: 300 }, retry: { maxBufferBytes: 1024 } } },
    routes,
  })
  const started = Date.now()
  const res = await httpRequest(gw.url + '/upload', {
    method: 'POST',
    headers: { 'content-length': String(CHUNKS * CHUNK_BYTES) },
    body: slowBody(),
  })
  const elapsed = Date.now() - started
  t.equal(res.status, 200)
  t.equal(res.echo().bodyBytes, 65536, 'the upstream received the whole body')
  t.ok(elapsed > 300, `the upload took longer than requestMs (${elapsed} ms)`)
})

t.test('a chunked upload longer than requestMs is not cut off either', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], timeouts: { requestMs: 300 }, retry: { maxBufferBytes: 1024 } } },
    routes,
  })
  const res = await httpRequest(gw.url + '/upload', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: slowBody() })
  t.equal(res.status, 200)
  t.equal(res.echo().bodyBytes, 65536)
})

t.test('a buffered PUT to a hanging upstream gets 504 after about requestMs', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], timeouts: { requestMs: 300 }, retry: { maxBufferBytes: 1024 } } },
    routes,
  })
  const started = Date.now()
  const res = await httpRequest(gw.url + '/put', { method: 'PUT', body: 'small body' })
  const elapsed = Date.now() - started
  t.equal(res.status, 504)
  t.equal(res.json<ErrorBody>().error, 'upstream_timeout')
  t.ok(elapsed >= 250 && elapsed < 1500, `answered around requestMs (${elapsed} ms)`)
  t.equal(u.hits, 1, 'the upstream had the request once: no retry past the deadline')
  t.equal(u.requests[0]!.bodyBytes, 10)
})

t.test('a streamed upload to a hanging upstream still gets 504 once it has been sent', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], timeouts: { requestMs: 300 }, retry: { maxBufferBytes: 1024 } } },
    routes,
  })
  const started = Date.now()
  const res = await httpRequest(gw.url + '/upload', {
    method: 'POST',
    headers: { 'content-length': String(CHUNKS * CHUNK_BYTES) },
    body: slowBody(),
  })
  const elapsed = Date.now() - started
  t.equal(res.status, 504)
  t.equal(res.json<ErrorBody>().error, 'upstream_timeout')
  t.equal(u.hits, 1, 'the upstream received the whole request once')
  t.equal(u.requests[0]!.bodyBytes, 65536)
  t.ok(elapsed < 4000, `answered after the upload plus about requestMs (${elapsed} ms)`)
  t.equal(gw.gateway.pools().get('p')!.pool.targets[0]!.inFlight, 0)
})
