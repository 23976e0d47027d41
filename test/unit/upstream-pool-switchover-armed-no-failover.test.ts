// While an operator's switchover is armed (it found no backup available, so the primaries kept serving), the
// primaries going down is not counted as a failover that failback 'manual' holds: once a reload drops the backups
// (which ends the switchover) nothing is held, and a backup added later does not keep traffic off a primary that
// has recovered (src/upstream/pool.ts #update(): `!this.#tierSetByOperator` in the failover test).
import t from 'tap'
import { buildPool, poolConfig } from './config-fixtures.ts'

t.test('primaries failing under an armed switchover leave no failover hold behind', async (t) => {
  const f = buildPool(['p1', 'b1'], { failback: 'manual' })
  t.teardown(() => f.pool.close())
  const { p1, b1 } = f.byName
  const withBackup = f.pool.config
  f.pool.setStatus(b1!, { disabled: true })
  f.pool.switchover()
  t.equal(f.pool.tier, 'primary', 'no backup available: the primary keeps serving')
  f.pool.setStatus(p1!, { healthy: false })
  t.equal(f.pool.tier, 'none')
  t.equal(f.pool.hold, 'operator')
  f.pool.setTargets([p1!], poolConfig({ targets: [p1!.url], failback: 'manual' }))
  t.equal(f.pool.hold, undefined, 'no backups left: nothing held')
  f.pool.setTargets([p1!, b1!], withBackup)
  f.pool.setStatus(b1!, { disabled: false })
  t.equal(f.pool.tier, 'backup', 'the primary is still down: the backup serves')
  f.pool.setStatus(p1!, { healthy: true })
  t.equal(f.pool.tier, 'primary', 'the primary recovered: traffic is back on it')
})
