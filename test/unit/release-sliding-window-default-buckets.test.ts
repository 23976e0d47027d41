// The sliding window's default granularity (no `buckets` given, as the canary's rollback windows are built): an event
// counts for at most windowMs and at least windowMs − windowMs/20, i.e. 95 % of the window. The canary's rollback
// judges "the errors of the last windowMs" with this counter; a coarse default (2 buckets) would forget an error
// after half the window, so a canary failing in bursts would stay in. Event times are drawn from a seeded PRNG over
// every offset inside a bucket; the clock is injected.
import t from 'tap'
import { CanaryDecider, type RollbackEvent } from '../../src/release/canary.ts'
import { SlidingWindowCounter } from '../../src/release/sliding-window.ts'
import { mulberry32 } from './prng.ts'

const GUARANTEED_SHARE = 19 / 20

t.test('default buckets: an event still counts at 95 % of the window, and no longer at 100 %', async (t) => {
  const random = mulberry32(25)
  for (const windowMs of [1_000, 30_000, 60_000, 300_000]) {
    for (let i = 0; i < 40; i++) {
      const clock = { now: 0 }
      const window = new SlidingWindowCounter({ windowMs, now: () => clock.now })
      const at = Math.floor(random() * 10 * windowMs)
      clock.now = at
      window.add()
      clock.now = at + windowMs * GUARANTEED_SHARE
      const kept = window.count()
      clock.now = at + windowMs
      const gone = window.count()
      if (kept !== 1 || gone !== 0) {
        t.fail(`windowMs ${windowMs}, event at ${at}: counted ${kept} at 95 %, ${gone} at 100 %`)
        return
      }
    }
    t.pass(`windowMs ${windowMs}: 40 events at random offsets`)
  }
})

t.test('the canary rollback counts errors over (nearly) its whole window', async (t) => {
  // [error time, success time]: 6 errors at the first, 4 successes at the second, 60 s window, 10 requests needed,
  // rollback above 50 %: the 6 errors are still in the window when the 10th request ends, at most 57 s later
  const cases: [errorsAt: number, successesAt: number][] = [[25_000, 61_000], [29_999, 86_000], [1_000, 57_000], [44_000, 101_000]]
  for (const [errorsAt, successesAt] of cases) {
    let now = 0
    const d = new CanaryDecider({ pool: 'c', weight: 10, stickyBy: 'none', rollback: { maxErrorRatePercent: 50, minRequests: 10, windowMs: 60_000 } }, { now: () => now, random: () => 0 })
    now = errorsAt
    for (let i = 0; i < 6; i++) d.record('canary', false)
    now = successesAt
    let event: RollbackEvent | undefined
    for (let i = 0; i < 4; i++) event = d.record('canary', true) ?? event
    t.strictSame(d.stats().canary, { requests: 10, errors: 6 }, `errors at ${errorsAt}, successes at ${successesAt}`)
    t.not(event, undefined, 'rolled back')
    t.equal(d.weight, 0)
  }
})
