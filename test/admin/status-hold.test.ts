// /status tells an operator's switchover from a failover held by failback 'manual' (both read switchover 'manual'):
// `hold` is 'operator', 'failover' or 'none', as switchyard_pool_hold's 2, 1 and 0 say.
import t from 'tap'
import { checkedStandby } from './checked-standby.ts'

t.test('/status hold: none, operator, failover, as the metric', async (t) => {
  const { p1, act, view, holdMetric, stateOf } = await checkedStandby(t, { failback: 'manual' })
  const both = async (): Promise<[string, string | undefined]> => [(await view()).hold, await holdMetric()]
  t.strictSame(await both(), ['none', '0'])
  t.equal((await act('/pools/pay/switchover', { to: 'backup' }))[0], 200)
  t.strictSame(await both(), ['operator', '2'])
  t.equal((await act('/pools/pay/failback'))[0], 200)
  t.strictSame(await both(), ['none', '0'])
  p1.unhealthy = true
  await stateOf(p1, 'unhealthy')
  t.strictSame(await both(), ['failover', '1'])
  t.equal((await view()).switchover, 'manual', 'switchover still reads manual for both')
})
