// A third attempt, after a reload that kept the pool but gave one of the two targets already tried a new weight (a
// new copy of the same upstream) and left the other as it was: the retry still avoids both, and goes to the one target
// not tried yet. The request's tried list then holds a copy the pool no longer has beside one it still has; every
// stale copy must be mapped to the pool's current one, not only when all of them are stale.
// (src/proxy/same-targets.ts, sameTargetsIn: `tried.every((t) => pool.has(t))`.)
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type PoolSpec = GatewayConfig['pools'][string]

function pool (a: TestUpstream, b: TestUpstream, c: TestUpstream, aWeight: number): PoolSpec {
  // weighted round-robin: A first; a retry avoiding A goes to B (0.002 over C's 0.001); only a retry avoiding A and B
  // goes to C, and after the reload A's weight of 100 would win any pick that did not avoid it
  return {
    targets: [{ url: a.url, weight: aWeight }, { url: b.url, weight: 0.002 }, { url: c.url, weight: 0.001 }],
    balancer: 'round-robin',
    retry: { attempts: 3, backoff: { baseMs: 5, maxMs: 2000 }, perTryTimeoutMs: 5000 },
    outlier: { enabled: false },
  }
}

t.test('a retry avoids both targets tried when a reload gave one of them a new weight', async (t) => {
  const [a, b, c] = await Promise.all([TestUpstream.start({ name: 'A' }), TestUpstream.start({ name: 'B' }), TestUpstream.start({ name: 'C' })])
  let current: GatewayConfig = { pools: { p: pool(a, b, c, 1) }, routes: [{ path: '/', pool: 'p' }] }
  const gw = await startGateway(current, { defaultMetrics: false, load: async () => validateConfig(current) })
  t.teardown(async () => { await gw.close(); await a.close(); await b.close(); await c.close() })
  const before = gw.gateway.pools().get('p')!
  a.failCount = 1
  b.failCount = 1
  // B's 503 says Retry-After: 1: the third attempt waits on it, time for the reload
  b.failHeaders = { 'retry-after': '1' }
  const pending = fetch(`${gw.url}/x`).then(async (r) => ({ status: r.status, upstream: r.headers.get('x-upstream'), body: await r.text() }))
  await waitFor(() => a.requests.length === 1 && b.requests.length === 1)
  current = { pools: { p: pool(a, b, c, 100) }, routes: [{ path: '/', pool: 'p' }] }
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.equal(gw.gateway.pools().get('p'), before, 'the pool was kept (only a weight changed)')
  const res = await pending
  t.equal(res.status, 200)
  t.equal(res.upstream, 'C', 'the third attempt went to the one target not tried')
  t.equal(a.requests.length, 1, 'A, which had failed the request, got no second try')
  t.equal(b.requests.length, 1, 'nor did B')
  t.equal(c.requests.length, 1)
})
