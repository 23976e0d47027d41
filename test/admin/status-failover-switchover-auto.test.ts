// /status says switchover 'manual' only while the pool is held on its backups (an operator's switchover, or a failover
// under failback 'manual'). An automatic failover with failback 'auto' is on the backups but held by nothing: it says
// 'auto', so the operator knows traffic returns to the primaries by itself and no failback action is needed.
import t from 'tap'
import { standbyConfig } from './standby.ts'
import { startGateway } from '../helpers/gateway.ts'

t.test('an automatic failover (failback auto): activeTier backup, switchover auto', async (t) => {
  // never contacted; no health checks: the test marks the primary unhealthy itself
  const gw = await startGateway(standbyConfig(), { defaultMetrics: false })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  t.match(gw.gateway.status().pools.p, { activeTier: 'primary', switchover: 'auto' })
  runtime.pool.setStatus(runtime.pool.targets.find((x) => !x.backup)!, { healthy: false })
  t.match(gw.gateway.status().pools.p, { activeTier: 'backup', switchover: 'auto' }, 'failed over, not held')
})
