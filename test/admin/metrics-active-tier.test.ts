// Active-Standby in /metrics: which tier takes a pool's traffic and why it is held there, so an operator can alert
// on a failover or a switchover left in place (before, /metrics read the same before and after a switchover).
import t from 'tap'
import { standbyConfig } from './standby.ts'
import { startGateway } from '../helpers/gateway.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('switchyard_pool_active_tier and switchyard_pool_hold follow failover, switchover and failback', async (t) => {
  // never contacted: no health checks, no requests
  const gw = await startGateway(standbyConfig({ failback: 'manual' }), { defaultMetrics: false })
  t.teardown(() => gw.close())
  const pool = gw.gateway.pools().get('p')!.pool
  const gauges = async (): Promise<[number | undefined, number | undefined]> => {
    const series = seriesOf(await gw.gateway.metrics!.render())
    return [series[key('switchyard_pool_active_tier', { pool: 'p' })], series[key('switchyard_pool_hold', { pool: 'p' })]]
  }
  t.strictSame(await gauges(), [0, 0], 'the primaries serve, nothing held')
  pool.switchover()
  t.strictSame(await gauges(), [1, 2], "the backups serve, on an operator's switchover")
  pool.failback()
  const primary = pool.targets.find((x) => !x.backup)!
  pool.setStatus(primary, { healthy: false })
  t.strictSame(await gauges(), [1, 1], 'a failover, held (failback manual)')
  pool.setStatus(pool.targets.find((x) => x.backup)!, { healthy: false })
  t.strictSame(await gauges(), [2, 1], 'nothing available: the failover still held for when a backup returns')
})
