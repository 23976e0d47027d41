// A failback (POST /failback, or switchover {"to":"primary"}) while no primary is available is refused 409
// no_available_primary and keeps the hold: before, it answered 200 and dropped a failback 'manual' hold (or an
// operator's switchover) silently, so traffic then left the backups on its own when a primary came back.
import t from 'tap'
import { checkedStandby } from './checked-standby.ts'

t.test("failback with no available primary: 409 no_available_primary, failback 'manual' still holds", async (t) => {
  const { p1, act, view, who, stateOf } = await checkedStandby(t, { failback: 'manual' })
  p1.unhealthy = true
  await stateOf(p1, 'unhealthy')
  t.match(await view(), { activeTier: 'backup', hold: 'failover' })
  t.strictSame(await act('/pools/pay/failback'), [409, 'no_available_primary'])
  t.strictSame(await act('/pools/pay/switchover', { to: 'primary' }), [409, 'no_available_primary'])
  t.match(await view(), { activeTier: 'backup', switchover: 'manual', hold: 'failover' }, 'the hold stays')
  p1.unhealthy = false
  await stateOf(p1, 'healthy')
  t.strictSame([await who(), await who()], ['b1', 'b1'], 'the primary is back: traffic stays held on the backup')
  t.strictSame(await act('/pools/pay/failback'), [200, undefined])
  t.equal(await who(), 'p1')
})

t.test("failback of an operator's switchover with no available primary: 409, the switchover stays", async (t) => {
  const { p1, act, view, who, stateOf } = await checkedStandby(t)
  t.strictSame(await act('/pools/pay/switchover', { to: 'backup' }), [200, undefined])
  p1.unhealthy = true
  await stateOf(p1, 'unhealthy')
  t.strictSame(await act('/pools/pay/failback'), [409, 'no_available_primary'])
  t.match(await view(), { activeTier: 'backup', hold: 'operator' })
  p1.unhealthy = false
  await stateOf(p1, 'healthy')
  t.equal(await who(), 'b1', 'still switched over')
})
