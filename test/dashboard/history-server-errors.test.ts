// The dashboard's error rate counts a target's 5xx answers, not only its failures: an application answering 500 to
// every request (no failure of the target's: 500 is not in failureStatuses) showed 0% errors on its tile while a
// canary was being rolled back for those very answers.
import t from 'tap'
import type { TrafficSummary } from '../../src/admin/history.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test("a target's 500s are errors in /history", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  u.failCount = 1_000
  u.failStatus = 500
  const gw = await startGateway({ pools: { p: { targets: [u.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  for (let i = 0; i < 4; i++) t.equal((await fetch(`${gw.url}/x`).then(async (r) => { await r.arrayBuffer(); return r.status })), 500)
  let summary: TrafficSummary | undefined
  // the history is sampled once a second
  await waitFor(async () => {
    summary = await (await fetch(`${admin}/history`)).json() as TrafficSummary
    return (summary.targets.p?.[`127.0.0.1:${u.port}`]?.errorRate ?? 0) > 0
  }, 3000)
  t.equal(summary!.targets.p![`127.0.0.1:${u.port}`]!.errorRate, 1, 'every answer an error')
  t.equal([...gw.gateway.pools().get('p')!.pool.targets][0]!.failures, 0, 'still no failure of the target (outlier, breaker)')
})
