// The event feed says when a target is ejected and when it returns, once each: an ejection whose end moves (its
// ejectedUntil changes while it is still ejected) is the same ejection, not a second "target ejected" event.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'

t.test('an ejection extended while in force: one "ejected" event, then one "returned"', async (t) => {
  // never contacted; the test sets the ejection itself
  const gw = await startGateway({ pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  const target = runtime.pool.targets[0]!
  const events = (): string[] => gw.gateway.events.list().filter((e) => e.target === target.id).map((e) => e.message)
  const now = performance.now()
  runtime.pool.setStatus(target, { ejectedUntil: now + 60_000 })
  runtime.pool.setStatus(target, { ejectedUntil: now + 120_000 })
  t.equal(events().length, 1, 'one event for the ejection')
  runtime.pool.setStatus(target, { ejectedUntil: 0 })
  t.equal(events().length, 2, 'and one for the return')
})
