// The ejection cap counts the targets already out of service besides the one failing: the failing target itself is
// the one ejection being weighed, whether or not something else (a health check, a drain, an operator, lag) has
// taken it out already. A primary that health checks just failed keeps failing the requests it had in flight; with a
// backup available and the pool within maxEjectionPercent it is ejected exactly as when it was still healthy, so the
// ejection (and its growing duration) holds it out once health checks pass it again. Counted twice, it was never
// ejected and came straight back on the next passing probe.
import t from 'tap'
import { OutlierDetector } from '../../src/health/outlier.ts'
import type { TargetStatus } from '../../src/upstream/status.ts'
import { buildPool } from './config-fixtures.ts'

const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 2500 }

// how the failing target is already out (or not), as a status change
const OUT_BY: [reason: string, change: Partial<TargetStatus>][] = [
  ['in service', {}],
  ['failed by health checks', { healthy: false }],
  ['draining', { draining: true }],
  ['disabled', { disabled: true }],
  ['lagging', { lagging: true }],
]

// [pool (names starting with 'b' are backups), maxEjectionPercent]: p1, the one primary, fails; the pool stays within the cap
const POOLS: [names: string[], cap: number][] = [
  [['p1', 'b1'], 50],
  [['p1', 'b1', 'b2'], 34],
  [['p1', 'b1', 'b2', 'b3'], 25],
]

t.test('a primary already out for another reason is ejected like one still in service', async (t) => {
  for (const [names, cap] of POOLS) {
    for (const [reason, change] of OUT_BY) {
      const f = buildPool(names, { outlier: { ...OUTLIER, maxEjectionPercent: cap } })
      t.teardown(() => f.pool.close())
      const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
      const p1 = f.byName.p1!
      f.pool.setStatus(p1, change)
      for (let i = 0; i < 3; i++) detector.failure(p1)
      const label = `${names.join(',')} cap ${cap}%, p1 ${reason}`
      t.equal(f.pool.status(p1).ejectedUntil, f.clock.now() + 1000, `${label}: ejected for baseEjectionMs`)
      t.equal(detector.skipped, 0, `${label}: not refused by the cap`)
      f.pool.setStatus(p1, { healthy: true, draining: false, disabled: false, lagging: false })
      t.notOk(f.pool.available().includes(p1), `${label}: back in service by its other status, still out by the ejection`)
    }
  }
})

t.test('the cap still holds against the other targets out of service', async (t) => {
  // p1 fails while b1 is out too: 2 of 2 would be out, over the 50% cap, whatever p1's own status
  for (const [reason, change] of OUT_BY) {
    const f = buildPool(['p1', 'b1'], { outlier: { ...OUTLIER, maxEjectionPercent: 50 } })
    t.teardown(() => f.pool.close())
    const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
    const p1 = f.byName.p1!
    f.pool.setStatus(f.byName.b1!, { healthy: false })
    f.pool.setStatus(p1, change)
    for (let i = 0; i < 3; i++) detector.failure(p1)
    t.equal(f.pool.status(p1).ejectedUntil, 0, `p1 ${reason}: not ejected`)
    t.equal(detector.skipped, 1, `p1 ${reason}: refused by the cap`)
  }
})
