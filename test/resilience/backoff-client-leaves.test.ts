// A client that leaves while its request waits out a retry's backoff ends the request at once: the backoff timer is
// cleared, its retry-budget slot and its place among the pool's active requests are given back then (not when the
// timer would have fired, which could be Retry-After seconds later and refuse other requests' retries meanwhile),
// and the breaker hears nothing: the retry that might have served it was never sent, and README says clients that
// went away never count. Before, the departed request held its slot for the whole backoff and then tripped a
// breaker with volumeThreshold 1 on the first attempt's 503. Envoy cancels its retry timer on a downstream reset.
import { request } from 'node:http'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { call, gateway, runtime, upstreams } from './_util.ts'

/** Not 2000: the per-try timeout's default, also on the manual clock while an attempt is in flight. */
const BACKOFF_MS = 3000

t.test('a client that leaves during a retry backoff frees its budget slot at once and never trips the breaker', async (t) => {
  const [a, b] = await upstreams(t, 2)
  // A answers 503 with Retry-After: the retry to B waits BACKOFF_MS on the manual clock, which only the test moves
  a!.failCount = 1000
  a!.failHeaders = { 'retry-after': String(BACKOFF_MS / 1000) }
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [a!.url, b!.url],
        outlier: { enabled: false },
        // one failure verdict would open it
        circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50 },
        // one retry in flight at most: a slot the departed request kept would refuse the next request's retry
        retry: { backoff: { baseMs: 25, maxMs: 5000 }, budget: { percent: 0, minConcurrent: 1 } },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, [a!, b!], { clock, random: () => 0.5 })
  const rt = runtime(gw, 'p')

  const leaving = request(`${gw.url}/leaves`, { agent: false })
  leaving.on('error', () => {})
  leaving.end()
  // A has answered 503; the retry to B holds its slot and waits out the backoff
  await waitFor(() => a!.hits === 1 && clock.dueIn().includes(BACKOFF_MS))
  t.same(clock.dueIn(), [BACKOFF_MS], 'only the backoff is armed: no attempt is in flight')
  t.equal(rt.budget.retriesInFlight, 1, 'the planned retry holds a budget slot')
  t.equal(rt.budget.active, 1)

  leaving.destroy()
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(rt.budget.retriesInFlight, 0, 'the slot is back as soon as the client has gone')
  t.equal(rt.budget.active, 0, 'no longer an active request of the pool')
  t.notOk(clock.dueIn().includes(BACKOFF_MS), 'the backoff timer is cleared')
  // opossum hears a verdict through a promise: give it a turn
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(rt.breaker.state, 'closed', 'the departed request is no verdict on the pool')

  // round-robin: the next request goes to B, the one after to A, whose 503 is retried on B with the freed slot
  t.equal((await call(gw.url, '/two')).upstream, 'u2')
  const third = call(gw.url, '/three')
  await waitFor(() => a!.hits === 2 && clock.dueIn().includes(BACKOFF_MS))
  t.same(clock.dueIn(), [BACKOFF_MS])
  clock.advance(BACKOFF_MS)
  const reply = await third
  t.equal(reply.status, 200)
  t.equal(reply.upstream, 'u2', 'retried on B')
  t.equal(rt.budget.rejected, 0, 'no retry was refused')
  t.equal(rt.breaker.state, 'closed')
  t.same(b!.requests.map((r) => r.url), ['/two', '/three'], 'the departed request was never sent to B')

  const lines = gw.accessLogs().filter((l) => l.path === '/leaves')
  t.equal(lines.length, 1)
  t.equal(lines[0]!.status, 499)
  t.equal(lines[0]!.aborted, true)
})
