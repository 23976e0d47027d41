// The ejection multiplier grows with repeated ejections (base × times ejected, capped at maxEjectionMs),
// but decays: a target that has stayed in for more than maxEjectionMs since its last ejection ended starts
// over at baseEjectionMs.
import t from 'tap'
import { OutlierDetector } from '../../src/health/outlier.ts'
import type { Target } from '../../src/upstream/target.ts'
import { buildPool, type PoolFixture } from './config-fixtures.ts'

const BASE = 1000
const MAX = 2500
const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: BASE, maxEjectionMs: MAX, maxEjectionPercent: 50 }

interface Fixture extends PoolFixture { detector: OutlierDetector; p1: Target }

function setup (t: { teardown: (fn: () => Promise<void>) => void }): Fixture {
  const f = buildPool(['p1', 'p2'], { outlier: OUTLIER })
  t.teardown(() => f.pool.close())
  // the detector reads the same injected clock as the pool
  return { ...f, detector: new OutlierDetector(f.pool.config.outlier, f.pool, f.clock), p1: f.byName.p1! }
}

/** Ejects p1 (consecutiveFailures in a row) and returns how long for. */
function eject (f: Fixture): number {
  const at = f.clock.now()
  for (let i = 0; i < OUTLIER.consecutiveFailures; i++) f.detector.failure(f.p1)
  if (f.pool.status(f.p1).ejectedUntil <= at) throw new Error('p1 was not ejected')
  return f.pool.status(f.p1).ejectedUntil - at
}

/** Lets the current ejection run out, then keeps p1 in the pool for `stayMs`. */
function expireAndStay (f: Fixture, stayMs: number): void {
  f.clock.set(f.pool.status(f.p1).ejectedUntil + stayMs)
}

t.test('repeated ejections grow the multiplier: base × times, capped', async (t) => {
  const f = setup(t)
  t.equal(eject(f), BASE, '1st: base')
  expireAndStay(f, 0)
  t.ok(f.pool.available().includes(f.p1), 'back in the pool once the ejection ends')
  t.equal(eject(f), 2 * BASE, '2nd: base × 2')
  expireAndStay(f, 100)
  t.equal(eject(f), MAX, '3rd: base × 3 capped at maxEjectionMs')
  t.equal(f.detector.timesEjected(f.p1), 3)
})

t.test('a target that stayed in for more than maxEjectionMs starts over at base', async (t) => {
  const f = setup(t)
  t.equal(eject(f), BASE)
  expireAndStay(f, 0)
  t.equal(eject(f), 2 * BASE)
  t.equal(f.detector.timesEjected(f.p1), 2)

  expireAndStay(f, MAX + 1)
  t.equal(eject(f), BASE, 'the multiplier was reset')
  t.equal(f.detector.timesEjected(f.p1), 1, 'counting starts again')

  expireAndStay(f, 0)
  t.equal(eject(f), 2 * BASE, 'and grows again from there')
  t.equal(f.detector.timesEjected(f.p1), 2)
})

t.test('exactly maxEjectionMs in the pool is not yet "more than": the multiplier keeps growing', async (t) => {
  const f = setup(t)
  eject(f)
  expireAndStay(f, MAX)
  t.equal(eject(f), 2 * BASE)
  t.equal(f.detector.timesEjected(f.p1), 2)
})

t.test('the time in the pool counts from the end of the last ejection, not its start', async (t) => {
  const f = setup(t)
  const start = f.clock.now()
  t.equal(eject(f), BASE)
  // more than maxEjectionMs after the ejection began, but less after it ended
  expireAndStay(f, MAX - BASE + 1)
  t.ok(f.clock.now() - start > MAX, 'more than maxEjectionMs since the ejection started')
  t.equal(eject(f), 2 * BASE, 'not reset: the target has not yet stayed in for maxEjectionMs')

  // a capped (longer) ejection: the decay still counts from when it ended
  expireAndStay(f, 0)
  t.equal(eject(f), MAX, '3rd: capped')
  expireAndStay(f, MAX)
  t.equal(eject(f), MAX, 'still capped: maxEjectionMs since the end is not more than it')
  expireAndStay(f, MAX + 1)
  t.equal(eject(f), BASE, 'reset after more than maxEjectionMs in the pool')
})

t.test('decay is per target', async (t) => {
  const f = buildPool(['p1', 'p2', 'p3', 'p4'], { outlier: OUTLIER })
  t.teardown(() => f.pool.close())
  const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
  const p1 = f.byName.p1!
  const p2 = f.byName.p2!
  const ejectTarget = (target: Target): number => {
    const at = f.clock.now()
    for (let i = 0; i < OUTLIER.consecutiveFailures; i++) detector.failure(target)
    return f.pool.status(target).ejectedUntil - at
  }
  t.equal(ejectTarget(p1), BASE)
  f.clock.set(f.pool.status(p1).ejectedUntil)
  t.equal(ejectTarget(p1), 2 * BASE, 'p1 ejected twice in a row')
  f.clock.set(f.pool.status(p1).ejectedUntil + MAX + 1)
  t.equal(ejectTarget(p2), BASE, "p2's first ejection")
  f.clock.set(f.pool.status(p2).ejectedUntil)
  t.equal(ejectTarget(p2), 2 * BASE, 'p2 grows: it never stayed in long since its own ejection')
  t.equal(ejectTarget(p1), BASE, 'p1 starts over: it stayed in for more than maxEjectionMs')
})
