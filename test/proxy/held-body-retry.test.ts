// A body the gateway holds whole (it arrived within retry.maxBufferBytes) can be sent again, whatever its framing:
// a small chunked upload is retried as a Content-Length one is, however fast it arrived. And a refused connection
// never carried the body, so it goes to another target even where policy would not replay it.
import t from 'tap'
import { httpRequest } from './http.ts'
import { gateway, refusedUrl, upstream } from './setup.ts'

const NO_BACKOFF = { baseMs: 1, maxMs: 2 }

const cases = [
  { name: 'a small chunked PUT is retried after a refused connection', failFirst: 'refused', framing: 'chunked', methods: undefined },
  { name: 'a small chunked PUT is retried after a 503', failFirst: 503, framing: 'chunked', methods: undefined },
  { name: 'a PUT policy does not retry goes on after a refused connection', failFirst: 'refused', framing: 'length', methods: ['GET'] },
] as const

for (const c of cases) {
  t.test(c.name, async (t) => {
    const live = await upstream(t, 'live')
    // round-robin: the refused target is tried first; a 503 comes from the live target's first answer
    const targets = c.failFirst === 'refused' ? [await refusedUrl(), live.url] : [live.url]
    if (c.failFirst === 503) live.failCount = 1
    const gw = await gateway(t, {
      pools: { p: { targets, retry: { attempts: 3, backoff: NO_BACKOFF, ...(c.methods ? { methods: [...c.methods] } : {}) }, outlier: { enabled: false } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    const res = await httpRequest(`${gw.url}/put`, {
      method: 'PUT',
      headers: c.framing === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': '11' },
      body: 'hello world',
    })
    t.equal(res.status, 200)
    t.equal(res.echo().bodyBytes, 11, 'the whole body reached the target that answered')
    t.equal(gw.accessLogs()[0]!.attempts, 2)
  })
}
