// A replica whose lag was not known yet (no reads) that first reports it is behind stays out of reads, but now for a
// reason the operator must hear: the feed records the change (lagging all along, lag now known) as its own event.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'

t.test('lag unknown, then reported behind: a second event, the warning', async (t) => {
  // never contacted; the test sets the lag verdicts itself
  const gw = await startGateway({ pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  const target = runtime.pool.targets[0]!
  const events = (): number => gw.gateway.events.list().filter((e) => e.target === target.id).length
  const warnings = (): number => gw.logs.filter((l) => l.target === target.id && l.level === 40).length
  runtime.pool.setStatus(target, { lagging: true, lagUnknown: true })
  t.equal(events(), 1, 'lag not known: one event')
  t.equal(warnings(), 0, '...at info')
  runtime.pool.setStatus(target, { lagUnknown: false })
  t.equal(events(), 2, 'reported behind: another event')
  t.equal(warnings(), 1, '...a warning')
})
