// An ejection lifted before its end (a passing health check after a failed one, an operator's enable: both set
// ejectedUntil back to 0 through the pool) ended then, for the outlier detector too: the multiplier's decay counts
// the target's time in the pool from the lift, not from the end the ejection would have had; failures count afresh
// and the next ejection is the next of the multiplier, with its own record for the event feed. Before, a target
// lifted early and in service for more than maxEjectionMs was ejected next as a repeat offender.
import t from 'tap'
import { OutlierDetector } from '../../src/health/outlier.ts'
import { buildPool } from './config-fixtures.ts'

const BASE = 1000
const MAX = 2500
const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: BASE, maxEjectionMs: MAX, maxEjectionPercent: 50 }

function setup (t: { teardown: (fn: () => Promise<void>) => void }) {
  const f = buildPool(['p1', 'p2'], { outlier: OUTLIER })
  t.teardown(() => f.pool.close())
  const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
  const p1 = f.byName.p1!
  /** Ejects p1 and returns for how long. */
  const eject = (): number => {
    const at = f.clock.now()
    for (let i = 0; i < OUTLIER.consecutiveFailures; i++) detector.failure(p1, 'status', 503)
    return f.pool.status(p1).ejectedUntil - at
  }
  const lift = (): void => f.pool.setStatus(p1, { ejectedUntil: 0 })
  return { ...f, detector, p1, eject, lift }
}

t.test('the time in the pool counts from the lift', async (t) => {
  const f = setup(t)
  t.equal(f.eject(), BASE)
  f.clock.advance(100)
  f.lift()
  // in service for more than maxEjectionMs since the lift; less since the ejection's own end
  f.clock.advance(MAX + 1)
  t.equal(f.eject(), BASE, 'starts over at base')
  t.equal(f.detector.timesEjected(f.p1), 1)
})

t.test('lifted and failing again soon: the next of the multiplier, described for the feed', async (t) => {
  const f = setup(t)
  f.eject()
  f.lift()
  f.detector.failure(f.p1)
  f.detector.failure(f.p1)
  t.equal(f.pool.status(f.p1).ejectedUntil, 0, 'failures count afresh after the lift')
  t.equal(f.eject(), 2 * BASE, 'the second ejection lasts base × 2')
  const until = f.pool.status(f.p1).ejectedUntil
  t.match(f.detector.ejection(f.p1, until), { timesEjected: 2, ejectedForMs: 2 * BASE, until })
})

t.test('an ejection that runs out is not taken for a lift', async (t) => {
  const f = setup(t)
  f.eject()
  // its end noticed late (the expiry timer fires after the deadline): the decay still counts from the deadline
  f.clock.set(f.pool.status(f.p1).ejectedUntil + 200)
  t.ok(f.pool.available().includes(f.p1), 'back in the pool')
  f.clock.advance(MAX - 200 + 1)
  t.equal(f.eject(), BASE, 'more than maxEjectionMs since the deadline: starts over')
})
