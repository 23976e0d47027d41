// A target that leaves the pool (a reload, a DNS answer without it) must be forgotten by outlier detection entirely:
// its ejection history too, not only its failure count. Kept, every target that was ever ejected would stay in the
// detector's maps, with its closed connection pools, for as long as the pool runs (a DNS-discovered pool churns
// through addresses); and an object handed back to the pool later would start with the old ejection multiplier.
// Pins src/health/outlier.ts's 'targets' handler `this.#timesEjected.delete(t)` (line 27).
import t from 'tap'
import { OutlierDetector } from '../../src/health/outlier.ts'
import { buildPool } from './config-fixtures.ts'

const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 10_000, maxEjectionPercent: 50 }

t.test('a removed target loses its ejection history', async (t) => {
  const f = buildPool(['p1', 'p2', 'p3', 'p4'], { outlier: OUTLIER })
  t.teardown(() => f.pool.close())
  const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
  const { p1, p2, p3, p4 } = f.byName
  const fail = (n: number): void => { for (let i = 0; i < n; i++) detector.failure(p1!) }
  fail(3)
  t.equal(detector.timesEjected(p1!), 1, 'ejected once')
  f.clock.advance(1000)
  fail(3)
  t.equal(detector.timesEjected(p1!), 2, 'twice')
  t.equal(f.pool.status(p1!).ejectedUntil - f.clock.now(), 2000, 'the second for 2 × baseEjectionMs')
  f.pool.setTargets([p2!, p3!, p4!])
  t.equal(detector.timesEjected(p1!), 0, 'forgotten once the pool drops it')
  // handed back (the pool keeps targets by identity): it starts over
  f.clock.advance(2000)
  f.pool.setTargets([p1!, p2!, p3!, p4!])
  fail(3)
  t.equal(detector.timesEjected(p1!), 1, 'a first ejection again')
  t.equal(f.pool.status(p1!).ejectedUntil - f.clock.now(), 1000, 'for baseEjectionMs')
})
