// Traffic on the backups because no primary is available though none failed (the last primary drained, or disabled;
// in a DNS pool, the primaries' name answering nothing; a replica pool's primaries not reporting their lag yet) is
// told as a move, at info, not as a failover at warn. Before (review r43k), every such move read "automatic failover to
// backup targets", at warn: a rolling deploy's drain paged as an outage.
import t from 'tap'
import { checkedStandby } from './checked-standby.ts'

t.test('a drain of the last primary moves traffic, at info; a primary failing its checks is a failover, at warn', async (t) => {
  const { p1, gw, stateOf, targetAction, who } = await checkedStandby(t)
  const tierLines = () => gw.logs.filter((l) => l.pool === 'pay' && l.event === 'tier')
  await targetAction(p1, 'drain')
  t.equal(await who(), 'b1')
  const moved = tierLines().at(-1)!
  t.match(moved, { level: 30, tier: 'backup' }, 'a move, at info')
  t.notMatch(moved.msg, /failover/, 'not called a failover')
  await targetAction(p1, 'enable')
  await stateOf(p1, 'healthy')
  t.equal(await who(), 'p1')
  p1.unhealthy = true
  await stateOf(p1, 'unhealthy')
  const failover = tierLines().at(-1)!
  t.match(failover, { level: 40, tier: 'backup' }, 'a failover, at warn')
  t.match(failover.msg, /failover/)
})
