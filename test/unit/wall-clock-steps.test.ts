// A wall-clock step (an NTP correction after a VM pause, an operator's `date -s`) moves no deadline: an outlier
// ejection lasts its duration whichever way the wall clock jumps, and a circuit breaker's Retry-After counts down to
// its real half-open, as opossum's reset timer does. Before, both read Date.now(): a step back of an hour kept an
// ejected target out for an hour more and told clients to come back in an hour; a step forward ended a 60 s
// ejection at once, and the failing target took traffic again.
import t from 'tap'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import { OutlierDetector } from '../../src/health/outlier.ts'
import { PoolBreaker } from '../../src/resilience/breaker.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import { SteppingClock } from '../helpers/clock.ts'
import { buildPool } from './config-fixtures.ts'
import type { Target } from '../../src/upstream/target.ts'

const HOUR = 3_600_000

const OUTLIER = { consecutiveFailures: 2, baseEjectionMs: 60_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 }

for (const step of [-HOUR, HOUR]) {
  t.test(`an ejection lasts its duration across a wall-clock step of ${step / 60_000} min`, async (t) => {
    const f = buildPool(['p1', 'p2'], { outlier: OUTLIER })
    t.teardown(() => f.pool.close())
    const clock = new SteppingClock(1_000_000)
    // the fixture's pool runs on its own clock: a pool on the stepping one, with the same targets and config
    const pool = new UpstreamPool('p', f.pool.config, f.pool.targets, new RoundRobinBalancer(), clock)
    t.teardown(() => pool.close())
    const detector = new OutlierDetector(pool.config.outlier, pool, clock)
    const p1 = f.byName.p1!
    for (let i = 0; i < OUTLIER.consecutiveFailures; i++) detector.failure(p1)
    t.equal(pool.state(p1), 'ejected')
    clock.offset = step
    clock.advance(1_000)
    t.equal(pool.state(p1), 'ejected', 'still out 1 s later, after the step')
    t.notOk(pool.available().includes(p1))
    clock.advance(58_999)
    t.equal(pool.state(p1), 'ejected', 'out until its 60 s are up')
    clock.advance(1)
    t.equal(pool.state(p1), 'healthy', 'back after 60 s of monotonic time')
    t.ok(pool.available().includes(p1))
  })
}

t.test("a breaker's Retry-After counts down to its half-open across a wall-clock step back", async (t) => {
  const clock = new SteppingClock(1_000_000)
  const b = new PoolBreaker({ enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, rollingWindowMs: 10_000, resetTimeoutMs: 10_000 }, clock)
  t.teardown(() => b.shutdown())
  b.force('open')
  clock.advance(2_000)
  clock.offset = -HOUR
  t.equal(b.retryAfterSeconds(), 8, '8 s left, not an hour more')
  clock.offset = HOUR
  t.equal(b.retryAfterSeconds(), 8, 'nor 1 s after a step forward')
})

// wall-clock-steps.test.ts steps the wall clock after a target was ejected; these step it before: the ejection's
// deadline and its timer must be taken on the monotonic clock too. A step back of an hour before the ejecting failure
// made the ejection end at once (its deadline an hour in the past), or its return event an hour late (no request
// coming to notice it: /status, the event feed and the tier saw it only then).
t.test('wall-clock-step-before-ejection', async (t) => {
  t.test('a wall-clock step back before the ejecting failure: ejected for its 60 s, back as an event when they are up', async (t) => {
    const f = buildPool(['p1', 'p2'], { outlier: OUTLIER })
    t.teardown(() => f.pool.close())
    const clock = new SteppingClock(1_000_000)
    const pool = new UpstreamPool('p', f.pool.config, f.pool.targets, new RoundRobinBalancer(), clock)
    t.teardown(() => pool.close())
    const detector = new OutlierDetector(pool.config.outlier, pool, clock)
    const p1 = f.byName.p1!
    const returns: number[] = []
    pool.on('status', (target: Target, status, previous) => {
      if (target === p1 && previous.ejectedUntil !== 0 && status.ejectedUntil === 0) returns.push(clock.monotonicNow())
    })
    clock.offset = -HOUR
    for (let i = 0; i < OUTLIER.consecutiveFailures; i++) detector.failure(p1)
    t.equal(pool.state(p1), 'ejected', 'ejected, not already past a deadline an hour back')
    clock.advance(59_999)
    t.equal(pool.state(p1), 'ejected', 'out until its 60 s are up')
    t.same(returns, [])
    clock.advance(1)
    // no request picks a target meanwhile: the pool's own timer brings it back
    t.same(returns, [1_060_000], 'its return is an event at 60 s of monotonic time, not an hour later')
    t.equal(pool.state(p1), 'healthy')
  })
})
