// A pool held on its backups (an operator's switchover, or a failover held by failback 'manual') whose only backup
// dies while its primaries are healthy. Before (review r43k): a retry went to another target of the same tier only,
// the dead backup again, and outlier detection never ejected the tier's last backup, so every request failed (502,
// then 503 circuit_open) with a healthy primary idle; without health checks it never ended. Now a retry may use the
// other tier's available targets, and a backup past its tier's cap may be ejected while a primary the health checks
// have verified is available: traffic goes back to it.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

async function heldOnBackup (t: Test, pool: Partial<GatewayConfig['pools'][string]>) {
  const [p1, b1] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'b1' })])
  t.teardown(() => Promise.all([p1.close(), b1.close()]))
  const gw = await startGateway({
    pools: { p: { targets: [p1.url, { url: b1.url, backup: true }], ...pool } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  return { p1, b1, gw, runtime }
}

t.test('no health checks: the requests a dead backup refuses are retried on the primary', async (t) => {
  const { p1, b1, gw, runtime } = await heldOnBackup(t, {})
  runtime.pool.switchover()
  t.equal(runtime.pool.tier, 'backup')
  t.equal((await httpRequest(`${gw.url}/x`)).status, 200)
  t.equal(b1.hits, 1, 'served by the backup while it lives')
  await b1.refuse()
  const statuses = []
  for (let i = 0; i < 20; i++) statuses.push((await httpRequest(`${gw.url}/x`)).status)
  t.strictSame([...new Set(statuses)], [200], 'every request answered')
  t.equal(p1.hits, 20, 'by the primary')
  t.equal(runtime.breaker.state, 'closed')
})

t.test('health checks: the dead backup is ejected though it is its tier\'s last, and traffic goes back to the verified primary', async (t) => {
  // one probe at start (the primary verified), the next a minute later: only the ejection can move traffic meanwhile
  const { p1, b1, gw, runtime } = await heldOnBackup(t, {
    healthCheck: { path: '/health', intervalMs: 60_000, timeoutMs: 500 },
    outlier: { consecutiveFailures: 3 },
  })
  const primary = runtime.pool.targets.find((x) => !x.backup)!
  await waitFor(() => runtime.health!.verified(primary))
  runtime.pool.switchover()
  await b1.refuse()
  for (let i = 0; i < 5; i++) t.equal((await httpRequest(`${gw.url}/x`)).status, 200)
  const backup = runtime.pool.targets.find((x) => x.backup)!
  t.equal(runtime.pool.state(backup), 'ejected', 'the last backup ejected')
  t.equal(runtime.pool.tier, 'primary', 'traffic is back on the primary')
  const before = p1.hits
  t.equal((await httpRequest(`${gw.url}/x`)).status, 200)
  t.equal(p1.hits, before + 1, 'at its first try')
})
