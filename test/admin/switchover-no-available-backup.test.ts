// A switchover to the backups while none is available (drained, disabled, failing its checks) is refused 409
// no_available_backup and arms nothing: before, it answered 200 and armed a hold that moved traffic to the backup
// the moment it came back, with no operator asking then.
import t from 'tap'
import { checkedStandby } from './checked-standby.ts'

t.test('switchover with no available backup: 409 no_available_backup, no hold, no move when the backup returns', async (t) => {
  const { b1, act, view, holdMetric, who, stateOf, targetAction } = await checkedStandby(t)
  const takeOut: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
    ['drained', () => targetAction(b1, 'drain'), () => targetAction(b1, 'enable')],
    ['disabled', () => targetAction(b1, 'disable'), () => targetAction(b1, 'enable')],
    ['unhealthy', async () => { b1.unhealthy = true; await stateOf(b1, 'unhealthy') }, async () => { b1.unhealthy = false; await stateOf(b1, 'healthy') }],
  ]
  for (const [how, out, back] of takeOut) {
    await out()
    for (const body of [{ to: 'backup' }, undefined]) {
      t.strictSame(await act('/pools/pay/switchover', body), [409, 'no_available_backup'], `backup ${how}, body ${JSON.stringify(body)}`)
    }
    t.match(await view(), { activeTier: 'primary', switchover: 'auto', hold: 'none' }, `backup ${how}: nothing armed`)
    t.equal(await holdMetric(), '0')
    await back()
    t.strictSame([await who(), await who(), await who()], ['p1', 'p1', 'p1'], `backup ${how}, then back: traffic stays on the primary`)
  }
  t.strictSame(await act('/pools/pay/switchover', { to: 'backup' }), [200, undefined], 'with the backup available it switches over')
  t.equal(await who(), 'b1')
})
