// Only a move to the backups is told as a move at info when no primary failed: traffic left with no target at all
// (tier none) is an error whatever took it there, the drain of the last target of a pool without backups included.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { checkedStandby } from './checked-standby.ts'

t.test('the drain of the only target of a pool without backups: tier none, at error', async (t) => {
  const { p1, gw, targetAction } = await checkedStandby(t, {}, false)
  const tierLines = () => gw.logs.filter((l) => l.pool === 'pay' && l.event === 'tier')
  t.equal((await targetAction(p1, 'drain')).status, 200)
  await waitFor(() => tierLines().some((l) => l.tier === 'none'))
  t.match(tierLines().at(-1)!, { level: 50, tier: 'none' }, 'no target left: an error')
})

t.test('the drain and disable of both targets of an Active-Standby pool: tier none, at error', async (t) => {
  const { p1, b1, gw, targetAction } = await checkedStandby(t)
  const tierLines = () => gw.logs.filter((l) => l.pool === 'pay' && l.event === 'tier')
  t.equal((await targetAction(p1, 'drain')).status, 200)
  await waitFor(() => tierLines().some((l) => l.tier === 'backup'))
  t.equal((await targetAction(b1, 'disable')).status, 200)
  await waitFor(() => tierLines().some((l) => l.tier === 'none'))
  t.match(tierLines().at(-1)!, { level: 50, tier: 'none' }, 'no target left: an error')
})
