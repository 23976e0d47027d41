// The feed and the log say what an operator did when it was done, and say automatic tier changes as automatic: an
// operator's switchover and failback are one event each (kind switchover, logged with `to` and `by: 'operator'`),
// a tier change health made (a backup that returns to an armed switchover, a failback on its own) is kind tier, logged
// `by: 'automatic'`. Before, the feed followed tier changes only: a backup returning read as another "switchover by
// an operator", and an operator's failback read as an automatic one. A refused action changes nothing and is not fed;
// its admin log line says the direction and the refusal's code.
import t from 'tap'
import { checkedStandby } from './checked-standby.ts'

t.test('operator actions fed as such, tier changes health made fed as automatic', async (t) => {
  const { gw, p1, b1, act, stateOf, targetAction } = await checkedStandby(t)
  const feed = () => gw.gateway.events.list().filter((e) => e.pool === 'pay' && (e.kind === 'switchover' || e.kind === 'tier'))
  const logged = () => gw.logs.filter((l) => l.pool === 'pay' && (l.event === 'switchover' || l.event === 'tier'))
  const calls = () => gw.logs.filter((l) => l.msg === 'admin call')
  /** The feed's and the log's tier and switchover events since `from`, as [kind, by, to or tier]. */
  const since = (from: number) => logged().slice(from).map((l) => [l.event, l.by, l.to ?? l.tier])

  let mark = logged().length
  t.equal((await act('/pools/pay/switchover', { to: 'backup' }))[0], 200)
  t.strictSame(since(mark), [['switchover', 'operator', 'backup']], 'the switchover, said once, as the operator\'s')
  t.match(calls().at(-1), { method: 'POST', path: '/pools/pay/switchover', status: 200, to: 'backup' }, 'the admin call names its direction')

  mark = logged().length
  b1.unhealthy = true
  await stateOf(b1, 'unhealthy')
  b1.unhealthy = false
  await stateOf(b1, 'healthy')
  t.strictSame(since(mark), [['tier', 'automatic', 'primary'], ['tier', 'automatic', 'backup']], 'the backup leaves and returns: no operator acted')

  mark = logged().length
  t.equal((await act('/pools/pay/failback'))[0], 200)
  t.strictSame(since(mark), [['switchover', 'operator', 'primary']], "an operator's failback")
  t.match(calls().at(-1), { path: '/pools/pay/failback', status: 200, to: 'primary' })

  mark = logged().length
  p1.unhealthy = true
  await stateOf(p1, 'unhealthy')
  p1.unhealthy = false
  await stateOf(p1, 'healthy')
  t.strictSame(since(mark), [['tier', 'automatic', 'backup'], ['tier', 'automatic', 'primary']], 'failover and failback by health')

  mark = logged().length
  const events = feed().length
  await targetAction(b1, 'drain')
  t.strictSame(await act('/pools/pay/switchover', { to: 'backup' }), [409, 'no_available_backup'])
  t.strictSame(since(mark), [], 'a refused switchover is not fed')
  t.equal(feed().length, events)
  t.match(calls().at(-1), { path: '/pools/pay/switchover', status: 409, to: 'backup', error: 'no_available_backup' }, 'only logged, with its direction and code')
  t.strictSame(feed().map((e) => e.kind), ['switchover', 'tier', 'tier', 'switchover', 'tier', 'tier'], 'the feed holds the same story')
})
