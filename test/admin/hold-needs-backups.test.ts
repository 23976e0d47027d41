// A pool without backups holds nothing: with failback 'manual', its only primary failing leaves it on no target,
// which is no failover hold (/status hold 'none', switchyard_pool_hold 0: "held on the backups" it has none of),
// and a failback or switchover there is refused 409 no_backup_targets, as a switchover already was.
import t from 'tap'
import { checkedStandby } from './checked-standby.ts'

t.test("failback 'manual' without backups: no hold when the primary fails; failback refused 409 no_backup_targets", async (t) => {
  const { p1, act, view, holdMetric, stateOf } = await checkedStandby(t, { failback: 'manual' }, false)
  p1.unhealthy = true
  await stateOf(p1, 'unhealthy')
  t.match(await view(), { activeTier: 'none', switchover: 'auto', hold: 'none' })
  t.equal(await holdMetric(), '0')
  t.strictSame(await act('/pools/pay/failback'), [409, 'no_backup_targets'])
  t.strictSame(await act('/pools/pay/switchover', { to: 'primary' }), [409, 'no_backup_targets'])
  t.strictSame(await act('/pools/pay/switchover', { to: 'backup' }), [409, 'no_backup_targets'])
  p1.unhealthy = false
  await stateOf(p1, 'healthy')
  t.match(await view(), { activeTier: 'primary', hold: 'none' })
})
