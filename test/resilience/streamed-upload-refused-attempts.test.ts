// A streamed upload (over retry.maxBufferBytes) whose targets refuse the connection goes on to another target
// (undici never read its body), but no more often than retry.attempts says: a pool whose every target refuses
// answers 502 after that many attempts, not after trying again and again until requestMs runs out.
// (src/proxy/attempt.ts, #fail: `if (unsent) this.#moreAllowed = ex.attempts < ...retry.attempts`.)
import { request } from 'node:http'
import t from 'tap'
import { refusedUrl } from '../proxy/setup.ts'
import { gateway } from './_util.ts'

t.test('a streamed upload to refusing targets makes retry.attempts attempts, then 502', async (t) => {
  const targets = [await refusedUrl(), await refusedUrl()]
  const gw = await gateway(t, {
    pools: {
      p: {
        targets,
        retry: { attempts: 3, maxBufferBytes: 16, backoff: { baseMs: 1, maxMs: 1 } },
        timeouts: { requestMs: 10_000 },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const started = performance.now()
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${gw.url}/upload`, { method: 'PUT', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', reject)
    req.end('a streamed body, longer than the sixteen bytes the pool buffers')
  })
  const tookMs = performance.now() - started
  t.equal(status, 502)
  const line = gw.accessLogs().find((l) => l.path === '/upload')
  t.equal(line?.error, 'upstream_unreachable')
  t.equal(line?.attempts, 3, 'retry.attempts attempts, no more')
  t.ok(tookMs < 5000, `answered once the attempts were spent (${Math.round(tookMs)} ms), not at requestMs`)
})
