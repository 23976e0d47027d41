// A request admitted by a pool that a reload rebuilt while its retry waited: the retry goes to the running pool's
// targets, but the request stays the admitted pool's. Its breaker verdict and its count of requests in flight go
// back to the pool that admitted it, so the running pool's breaker never judges a request it did not admit (one
// failed request it never saw must not open it), its request count stays true, and the replaced pool, idle once
// the request ends, is let go. (src/proxy/retry-loop.ts, #end: `this.#done(this.#ex, this.#admitted, ...)`.)
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type PoolSpec = GatewayConfig['pools'][string]

function pool (a: TestUpstream, b: TestUpstream, balancer: 'round-robin' | 'least-connections'): PoolSpec {
  return {
    targets: [{ url: a.url }, { url: b.url, weight: 0.001 }],
    balancer,
    retry: { attempts: 2, backoff: { baseMs: 25, maxMs: 2000 }, perTryTimeoutMs: 5000 },
    outlier: { enabled: false },
    // one failed request in the window opens it
    circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
  }
}

t.test('the running pool\'s breaker and request count are not the ones of a request another pool admitted', async (t) => {
  const a = await TestUpstream.start({ name: 'A' })
  const b = await TestUpstream.start({ name: 'B' })
  let current: GatewayConfig = { pools: { p: pool(a, b, 'round-robin') }, routes: [{ path: '/', pool: 'p' }] }
  const gw = await startGateway(current, { defaultMetrics: false, load: async () => validateConfig(current) })
  t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
  // the first attempt: A's 503 with Retry-After 1; the retry (after the reload) B's 503: the request fails
  a.failCount = 1
  a.failHeaders = { 'retry-after': '1' }
  b.failCount = 1
  const admittedBy = gw.gateway.pools().get('p')!
  const pending = fetch(`${gw.url}/x`).then(async (r) => { await r.arrayBuffer(); return r.status })
  await waitFor(() => a.requests.length === 1)
  // a new balancer: the pool is rebuilt, the request's retry picks in the new one
  current = { pools: { p: pool(a, b, 'least-connections') }, routes: [{ path: '/', pool: 'p' }] }
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  const running = gw.gateway.pools().get('p')!
  t.not(running, admittedBy, 'the reload rebuilt the pool')
  t.equal(await pending, 503, 'both attempts failed')
  t.equal(b.requests.length, 1, 'the retry went to B through the running pool')

  t.equal(running.budget.active, 0, 'the running pool counts no request in flight')
  t.equal(admittedBy.budget.active, 0, 'the pool that admitted the request counts it out')
  t.equal(running.breaker.allows(), true, 'the running pool\'s breaker judged nothing: still closed')
  const next = await fetch(`${gw.url}/x`)
  await next.arrayBuffer()
  t.equal(next.status, 200, 'the next request is served, not refused circuit_open')
})
