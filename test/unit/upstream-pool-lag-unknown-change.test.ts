// A replica added to a reads pool is lagging because its lag is not known yet (lagUnknown); once it reports a lag
// that is still too high it stays out, but for a different reason, and the operator's event feed must say so
// ("replica behind", not "lag not reported yet"). That change of lagUnknown alone is a status change
// (src/upstream/pool.ts setStatus(): `next.lagUnknown === previous.lagUnknown` in the no-change test).
import t from 'tap'
import { buildPool } from './config-fixtures.ts'

t.test('a change of lagUnknown alone is a status change with its event', async (t) => {
  const f = buildPool(['p1', 'p2'])
  t.teardown(() => f.pool.close())
  const { p1 } = f.byName
  f.pool.setStatus(p1!, { lagging: true, lagUnknown: true })
  t.equal(f.statuses.length, 1)
  f.pool.setStatus(p1!, { lagging: true, lagUnknown: undefined })
  t.equal(f.statuses.length, 2, 'the lag became known: one more status event')
  t.equal(f.pool.status(p1!).lagUnknown, undefined, 'the pool keeps the new status')
  t.equal(f.statuses[1]![2].lagUnknown, true, 'the event carries the previous status')
  t.equal(f.pool.state(p1!), 'lagging', 'still out of the reads pool')
})
