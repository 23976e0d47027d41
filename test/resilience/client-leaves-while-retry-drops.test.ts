// A client that leaves while the gateway reads (to drop it) a retryable answer whose retry it had planned: the
// request ends then. Its retry-budget slot and its place among the pool's active requests are given back at once and
// no backoff is armed, as when the client leaves during the backoff itself (backoff-client-leaves.test.ts): a
// departed request must not hold a slot for the Retry-After seconds and refuse other requests' retries meanwhile.
// (src/proxy/retry-loop.ts, #onResult: `|| this.#ex.clientGone`.)
import { request } from 'node:http'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { call, gateway, runtime, upstreams } from './_util.ts'

const RETRY_AFTER_MS = 3000

t.test('a client gone while its retryable 503 is being dropped frees its slot at once; no backoff, no retry', async (t) => {
  const [b] = await upstreams(t, 1, 'b')
  const aPaths: string[] = []
  // A: 503 + Retry-After whose body stalls after 10 of its 100 bytes (/leaves), or a whole 503 (anything else)
  const a = await serveOnLoopback(t, (req, res) => {
    aPaths.push(req.url ?? '')
    req.resume()
    if (req.url === '/leaves') {
      res.writeHead(503, { 'retry-after': String(RETRY_AFTER_MS / 1000), 'content-length': '100' })
      res.write(Buffer.alloc(10, 'x'))
      return
    }
    // Retry-After 0: its retry goes at once, with no backoff on the manual clock
    res.writeHead(503, { 'retry-after': '0', 'content-length': '4' }).end('busy')
  })
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [a.url, b!.url],
        outlier: { enabled: false },
        circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50 },
        // one retry in flight at most: a slot the departed request kept would refuse the next request's retry
        retry: { backoff: { baseMs: 25, maxMs: 5000 }, budget: { percent: 0, minConcurrent: 1 } },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, [b!], { clock, random: () => 0.5 })
  const rt = runtime(gw, 'p')

  const leaving = request(`${gw.url}/leaves`, { agent: false })
  leaving.on('error', () => {})
  leaving.end()
  // A's 503 head is in: the gateway planned the retry (a slot taken) and reads the body to drop it
  await waitFor(() => aPaths.length === 1 && rt.budget.retriesInFlight === 1)
  t.equal(rt.budget.active, 1)

  leaving.destroy()
  await waitFor(() => gw.gateway.proxy.active === 0)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(rt.budget.retriesInFlight, 0, 'the slot is back as soon as the client has gone')
  t.equal(rt.budget.active, 0, 'no longer an active request of the pool')
  t.notOk(clock.dueIn().includes(RETRY_AFTER_MS), 'no backoff armed for a client that has gone')

  // round-robin: the next request goes to B, the one after to A, whose 503 is retried on B with the freed slot
  t.equal((await call(gw.url, '/two')).status, 200)
  const third = await call(gw.url, '/three')
  t.equal(third.status, 200, 'the next request\'s retry had a slot')
  t.equal(third.upstream, 'b1', 'retried on B')
  t.equal(rt.budget.rejected, 0, 'no retry was refused')
  t.same(b!.requests.map((r) => r.url), ['/two', '/three'], 'the departed request was never sent to B')
})
