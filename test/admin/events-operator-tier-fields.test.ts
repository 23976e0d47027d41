// The fields and levels of the pool's switchover and tier log lines (src/admin/event-feed.ts, src/upstream/pool.ts
// #operatorMoved): an operator's action says where traffic is now (`tier`) and where it was (`previous`), so a
// switchover that moved traffic is told from one that found it on the backups already; and traffic that an armed
// switchover brings back to a recovering backup is expected, logged at info, not at warn as a failover health made
// (operators alert on warn). Beside events-operator-actions.test.ts, which pins each event's kind and `by`.
import t from 'tap'
import { checkedStandby } from './checked-standby.ts'

const INFO = 30
const WARN = 40

t.test("an operator's action logs tier and previous; an armed switchover's return to the backup is info", async (t) => {
  const { gw, p1, b1, act, stateOf } = await checkedStandby(t)
  const logged = () => gw.logs.filter((l) => l.pool === 'pay' && (l.event === 'switchover' || l.event === 'tier'))
  const since = (from: number) => logged().slice(from).map((l) => [l.event, l.by, l.tier, l.previous, l.level])

  let mark = logged().length
  t.equal((await act('/pools/pay/switchover', { to: 'backup' }))[0], 200)
  t.strictSame(since(mark), [['switchover', 'operator', 'backup', 'primary', INFO]], 'moved traffic: from primary to backup')

  mark = logged().length
  t.equal((await act('/pools/pay/switchover', { to: 'backup' }))[0], 200)
  t.strictSame(since(mark), [['switchover', 'operator', 'backup', 'backup', INFO]], 'asked again: traffic was on the backups already')

  mark = logged().length
  b1.unhealthy = true
  await stateOf(b1, 'unhealthy')
  b1.unhealthy = false
  await stateOf(b1, 'healthy')
  t.strictSame(since(mark), [
    ['tier', 'automatic', 'primary', 'backup', INFO],
    ['tier', 'automatic', 'backup', 'primary', INFO],
  ], 'the armed switchover brings traffic back to the backup: expected, at info')

  mark = logged().length
  t.equal((await act('/pools/pay/failback'))[0], 200)
  t.strictSame(since(mark), [['switchover', 'operator', 'primary', 'backup', INFO]], 'failback: from backup to primary')

  // for contrast: a failover health made, with no switchover armed, is a warning
  mark = logged().length
  p1.unhealthy = true
  await stateOf(p1, 'unhealthy')
  t.strictSame(since(mark), [['tier', 'automatic', 'backup', 'primary', WARN]], 'a failover by health')
})
