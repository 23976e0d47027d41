// A body of exactly retry.maxBufferBytes is held whole and can be replayed whatever its framing (README: "up to
// maxBufferBytes, whether it came with a Content-Length or chunked"). A Content-Length says at once that nothing
// follows; a chunked body that reaches the limit may still end there, so the gateway waits for its next read or its
// end before it decides to stream it. Before, a chunked body of exactly the limit was streamed and sent once: the
// 503 it got was the client's answer although a Content-Length body of the same size was retried. One byte more
// streams either way; on a route whose maxBodyBytes is under maxBufferBytes, a chunked body of exactly that many
// bytes is held and replayed, and one byte more is refused before any target sees it.
import t from 'tap'
import { httpRequest } from './http.ts'
import { gateway, upstream } from './setup.ts'

const LIMIT = 1024

const cases = [
  { name: 'a chunked body of exactly maxBufferBytes is replayed after a 503', framing: 'chunked', size: LIMIT, replayed: true },
  { name: 'a Content-Length body of exactly maxBufferBytes is replayed after a 503', framing: 'length', size: LIMIT, replayed: true },
  { name: 'a chunked body one byte over maxBufferBytes streams, sent once', framing: 'chunked', size: LIMIT + 1, replayed: false },
  { name: 'a Content-Length body one byte over maxBufferBytes streams, sent once', framing: 'length', size: LIMIT + 1, replayed: false },
  // a route limit under maxBufferBytes: the chunked body is held up to it, and a byte more is refused
  { name: 'a chunked body of exactly the route\'s maxBodyBytes (under maxBufferBytes) is replayed', framing: 'chunked', size: LIMIT / 2, replayed: true, maxBody: LIMIT / 2 },
  { name: 'a chunked body one byte over the route\'s maxBodyBytes is refused with 413, sent nowhere', framing: 'chunked', size: LIMIT / 2 + 1, replayed: false, maxBody: LIMIT / 2 },
] as { name: string; framing: 'chunked' | 'length'; size: number; replayed: boolean; maxBody?: number }[]

for (const c of cases) {
  t.test(c.name, async (t) => {
    // one target whose first answer is a 503: the retry goes to it again
    const live = await upstream(t, 'live')
    live.failCount = 1
    const gw = await gateway(t, {
      pools: { p: { targets: [live.url], retry: { attempts: 2, maxBufferBytes: LIMIT, backoff: { baseMs: 1, maxMs: 2 } }, outlier: { enabled: false } } },
      routes: [{ path: '/', pool: 'p', ...(c.maxBody === undefined ? {} : { maxBodyBytes: c.maxBody }) }],
    }, { defaultMetrics: false })
    // one write: a single chunk (or the whole Content-Length body) reaches the gateway in one read
    const res = await httpRequest(`${gw.url}/put`, {
      method: 'PUT',
      headers: c.framing === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(c.size) },
      body: Buffer.alloc(c.size, 'x'),
    })
    if (c.maxBody !== undefined && c.size > c.maxBody) {
      t.equal(res.status, 413)
      t.equal(res.json().error, 'body_too_large')
      t.same(live.requests, [], 'no target received any of it')
      return
    }
    t.equal(res.status, c.replayed ? 200 : 503)
    t.same(live.requests.map((r) => r.bodyBytes), c.replayed ? [c.size, c.size] : [c.size], 'the whole body each time it was sent')
    t.equal(gw.accessLogs()[0]!.attempts, c.replayed ? 2 : 1)
  })
}
