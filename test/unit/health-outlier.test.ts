// Outlier detection (src/health/outlier.ts): each subtest is one behaviour, named as its file was.
import t from 'tap'
import { OutlierDetector } from '../../src/health/outlier.ts'
import { buildPool, type PoolFixture } from './config-fixtures.ts'
import type { TargetStatus } from '../../src/upstream/status.ts'
import type { Target } from '../../src/upstream/target.ts'

// A target that leaves the pool (a reload, a DNS answer without it) must be forgotten by outlier detection entirely:
// its ejection history too, not only its failure count. Kept, every target that was ever ejected would stay in the
// detector's maps, with its closed connection pools, for as long as the pool runs (a DNS-discovered pool churns
// through addresses); and an object handed back to the pool later would start with the old ejection multiplier.
// Pins src/health/outlier.ts's 'targets' handler `this.#timesEjected.delete(t)` (line 27).
t.test('health-outlier-removed-target-forgotten', async (t) => {
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
})

// The ejection cap counts the targets already out of service besides the one failing: the failing target itself is
// the one ejection being weighed, whether or not something else (a health check, a drain, an operator, lag) has
// taken it out already. A primary that health checks just failed keeps failing the requests it had in flight; with a
// backup available and the pool within maxEjectionPercent it is ejected exactly as when it was still healthy, so the
// ejection (and its growing duration) holds it out once health checks pass it again. Counted twice, it was never
// ejected and came straight back on the next passing probe.
t.test('health-outlier-self-out', async (t) => {
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
})


t.test('health-outlier', async (t) => {
  const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 2500, maxEjectionPercent: 50 }

  function setup (t: { teardown: (fn: () => Promise<void>) => void }, names: string[], outlier: Record<string, unknown> = {}): PoolFixture & { detector: OutlierDetector } {
    const f = buildPool(names, { outlier: { ...OUTLIER, ...outlier } })
    t.teardown(() => f.pool.close())
    return { ...f, detector: new OutlierDetector(f.pool.config.outlier, f.pool, f.clock) }
  }

  const failTimes = (d: OutlierDetector, target: Target, n: number): void => { for (let i = 0; i < n; i++) d.failure(target) }
  const ejected = (f: PoolFixture, target: Target): boolean => f.pool.status(target).ejectedUntil > f.clock.now()

  t.test('consecutive failures eject', async (t) => {
    const f = setup(t, ['p1', 'p2'])
    const { p1 } = f.byName
    failTimes(f.detector, p1!, 2)
    t.equal(ejected(f, p1!), false, '2 of 3: not yet')
    f.detector.failure(p1!)
    t.equal(ejected(f, p1!), true, '3rd consecutive failure ejects')
    t.equal(f.pool.status(p1!).ejectedUntil, f.clock.now() + 1000, 'for baseEjectionMs')
    t.equal(f.detector.timesEjected(p1!), 1)
    t.notOk(f.pool.available().includes(p1!), 'the pool stops using it')
    t.equal(f.statuses.length, 1, 'one status change')
  })

  t.test('a success resets the count', async (t) => {
    const f = setup(t, ['p1', 'p2'])
    const { p1 } = f.byName
    const pattern = ['f', 'f', 's', 'f', 'f', 's', 'f', 'f']
    for (const step of pattern) step === 'f' ? f.detector.failure(p1!) : f.detector.success(p1!)
    t.equal(ejected(f, p1!), false, 'never 3 in a row')
    f.detector.failure(p1!)
    t.equal(ejected(f, p1!), true, 'now 3 in a row')
    f.detector.success(p1!) // harmless when nothing is counted
  })

  t.test('failures of one target do not count for another', async (t) => {
    const f = setup(t, ['p1', 'p2', 'p3', 'p4'])
    const { p1, p2 } = f.byName
    for (let i = 0; i < 2; i++) { f.detector.failure(p1!); f.detector.failure(p2!) }
    t.equal(ejected(f, p1!) || ejected(f, p2!), false)
  })

  t.test('ejection duration = base × times ejected, capped by maxEjectionMs', async (t) => {
    const f = setup(t, ['p1', 'p2'])
    const { p1 } = f.byName
    const expected = [1000, 2000, 2500, 2500]
    for (const [i, duration] of expected.entries()) {
      const at = f.clock.now()
      failTimes(f.detector, p1!, 3)
      t.equal(f.pool.status(p1!).ejectedUntil - at, duration, `ejection ${i + 1}: ${duration} ms`)
      t.equal(f.detector.timesEjected(p1!), i + 1)
      f.clock.set(f.pool.status(p1!).ejectedUntil) // expires
      t.equal(ejected(f, p1!), false, `ejection ${i + 1} expired`)
      t.ok(f.pool.available().includes(p1!), 'back in the pool')
    }
  })

  t.test('maxEjectionMs below base still ejects for base', async (t) => {
    const f = setup(t, ['p1', 'p2'], { baseEjectionMs: 1000, maxEjectionMs: 500 })
    const at = f.clock.now()
    failTimes(f.detector, f.byName.p1!, 3)
    t.equal(f.pool.status(f.byName.p1!).ejectedUntil - at, 1000)
  })

  t.test('failures while ejected do not extend the ejection', async (t) => {
    const f = setup(t, ['p1', 'p2'])
    const { p1 } = f.byName
    failTimes(f.detector, p1!, 3)
    const until = f.pool.status(p1!).ejectedUntil
    failTimes(f.detector, p1!, 7)
    t.equal(f.pool.status(p1!).ejectedUntil, until, 'not extended')
    t.equal(f.detector.timesEjected(p1!), 1)
    f.clock.set(until)
    f.detector.success(p1!)
    failTimes(f.detector, p1!, 3)
    t.equal(f.pool.status(p1!).ejectedUntil, until + 2000, 'the next run of failures ejects again, for longer')
  })

  t.test('maxEjectionPercent is never exceeded per tier, nor over the pool for a primary before a backup', async (t) => {
    const cases: { name: string; names: string[]; percent: number; failing: string[]; ejected: string[] }[] = [
      { name: '1 of 2 at 50%', names: ['p1', 'p2'], percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
      { name: 'a single-target tier is never ejected at 50%', names: ['p1', 'p2'], percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
      { name: 'a single backup is never ejected at 50%', names: ['p1', 'b1'], percent: 50, failing: ['b1'], ejected: [] },
      // the failover Active-Standby is for: without health checks nothing else would move traffic to the backups.
      // Past its tier's cap a primary goes if the whole pool stays within it (Envoy counts the cluster)
      { name: 'the last primary before a backup is ejected (1 of 2 in the pool)', names: ['p1', 'b1'], percent: 50, failing: ['p1'], ejected: ['p1'] },
      { name: 'the last primary before two backups is ejected (1 of 3)', names: ['p1', 'b1', 'b2'], percent: 50, failing: ['p1'], ejected: ['p1'] },
      { name: 'two of three primaries before a backup (2 of 4), not the third', names: ['p1', 'p2', 'p3', 'b1'], percent: 50, failing: ['p1', 'p2', 'p3'], ejected: ['p1', 'p2'] },
      { name: 'two primaries before one unchecked backup: not both (2 of 3)', names: ['p1', 'p2', 'b1'], percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
      { name: 'a cap of 0 ejects no primary, backups or not', names: ['p1', 'b1'], percent: 0, failing: ['p1'], ejected: [] },
      { name: '2 of 4 at 50%', names: ['p1', 'p2', 'p3', 'p4'], percent: 50, failing: ['p1', 'p2', 'p3', 'p4'], ejected: ['p1', 'p2'] },
      { name: '1 of 4 at 25%', names: ['p1', 'p2', 'p3', 'p4'], percent: 25, failing: ['p4', 'p3'], ejected: ['p4'] },
      { name: '1 of 3 at 50% (2 of 3 would be 67%)', names: ['p1', 'p2', 'p3'], percent: 50, failing: ['p1', 'p2', 'p3'], ejected: ['p1'] },
      { name: 'tiers are counted apart', names: ['p1', 'p2', 'b1', 'b2'], percent: 50, failing: ['p1', 'b1', 'p2', 'b2'], ejected: ['p1', 'b1'] },
      { name: '100% allows all', names: ['p1', 'p2'], percent: 100, failing: ['p1', 'p2'], ejected: ['p1', 'p2'] },
      { name: '0% allows none', names: ['p1', 'p2'], percent: 0, failing: ['p1', 'p2'], ejected: [] },
    ]
    for (const c of cases) {
      const f = setup(t, c.names, { maxEjectionPercent: c.percent })
      for (const n of c.failing) failTimes(f.detector, f.byName[n]!, 3)
      const out = c.names.filter((n) => ejected(f, f.byName[n]!))
      t.strictSame(out, c.ejected, c.name)
      t.equal(f.detector.skipped, c.failing.length - c.ejected.length, `${c.name}: refusals counted`)
    }
  })

  t.test('targets out of service for other reasons count against maxEjectionPercent', async (t) => {
    // the tier's last available target is never ejected at 50%: that would leave the pool with nothing to serve
    const cases: { name: string; names: string[]; out: Record<string, Record<string, unknown>>; percent: number; failing: string[]; ejected: string[] }[] = [
      { name: 'the other primary unhealthy', names: ['p1', 'p2'], out: { p1: { healthy: false } }, percent: 50, failing: ['p2'], ejected: [] },
      { name: 'the other primary draining', names: ['p1', 'p2'], out: { p1: { draining: true } }, percent: 50, failing: ['p2'], ejected: [] },
      { name: 'the other primary disabled', names: ['p1', 'p2'], out: { p1: { disabled: true } }, percent: 50, failing: ['p2'], ejected: [] },
      { name: '1 of 4 unhealthy: one more ejection (2 of 4 out), not two', names: ['p1', 'p2', 'p3', 'p4'], out: { p1: { healthy: false } }, percent: 50, failing: ['p2', 'p3'], ejected: ['p2'] },
      { name: 'a backup out does not count for the primaries', names: ['p1', 'p2', 'b1'], out: { b1: { healthy: false } }, percent: 50, failing: ['p1'], ejected: ['p1'] },
      { name: 'no backup available: the primaries keep their cap', names: ['p1', 'p2', 'b1'], out: { b1: { disabled: true } }, percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
      { name: '100% still allows it', names: ['p1', 'p2'], out: { p1: { healthy: false } }, percent: 100, failing: ['p2'], ejected: ['p2'] },
    ]
    for (const c of cases) {
      const f = setup(t, c.names, { maxEjectionPercent: c.percent })
      for (const [n, status] of Object.entries(c.out)) f.pool.setStatus(f.byName[n]!, status)
      for (const n of c.failing) failTimes(f.detector, f.byName[n]!, 3)
      const out = c.names.filter((n) => ejected(f, f.byName[n]!))
      t.strictSame(out, c.ejected, c.name)
      t.equal(f.detector.skipped, c.failing.length - c.ejected.length, `${c.name}: refusals counted`)
    }
  })

  t.test('an expired ejection frees its slot in the tier', async (t) => {
    const f = setup(t, ['p1', 'p2'])
    const { p1, p2 } = f.byName
    failTimes(f.detector, p1!, 3)
    failTimes(f.detector, p2!, 3)
    t.equal(ejected(f, p2!), false, 'p2 refused while p1 is out')
    f.clock.set(f.pool.status(p1!).ejectedUntil)
    failTimes(f.detector, p2!, 3)
    t.equal(ejected(f, p2!), true, 'p2 ejected once p1 is back')
  })

  t.test('disabled does nothing', async (t) => {
    const f = setup(t, ['p1', 'p2', 'p3', 'p4'], { enabled: false })
    for (const n of ['p1', 'p2', 'p3', 'p4']) failTimes(f.detector, f.byName[n]!, 50)
    t.strictSame(f.statuses, [])
    t.equal(f.detector.skipped, 0)
    t.equal(f.detector.timesEjected(f.byName.p1!), 0)
  })

  t.test('a target the pool dropped: the late failures of its requests in flight neither count nor eject it', async (t) => {
    const f = setup(t, ['p1', 'p2', 'p3', 'p4'])
    const { p1, p2, p3, p4 } = f.byName
    for (let i = 0; i < 3; i++) f.pool.acquire(p1!)
    f.pool.setTargets([p2!, p3!, p4!])
    // each ends after the pool's 'targets' event, as a request answered (or reset) after the DNS change does
    for (let i = 0; i < 3; i++) {
      f.pool.release(p1!, true)
      f.detector.failure(p1!)
    }
    t.equal(ejected(f, p1!), false, 'not ejected')
    t.equal(f.detector.timesEjected(p1!), 0)
    t.strictSame(f.statuses.filter(([name]) => name === 'p1').map(([, s]) => s.ejectedUntil), [], 'no status change for it')
  })
})
