import t from 'tap'
import { type CanaryConfig, CanaryDecider, type RollbackEvent } from '../../src/release/canary.ts'
import { noRandom } from './prng.ts'

// 10 s window in 20 buckets of 500 ms
const ROLLBACK = { maxErrorRatePercent: 50, minRequests: 10, windowMs: 10_000 }

function setup (rollback: Partial<CanaryConfig['rollback']> = {}, weight = 20): { d: CanaryDecider; clock: { now: number } } {
  const clock = { now: 1_000_000 }
  const d = new CanaryDecider(
    { pool: 'orders-canary', weight, stickyBy: 'header:x-user-id', rollback: { ...ROLLBACK, ...rollback } },
    { now: () => clock.now, random: noRandom },
  )
  return { d, clock }
}

/** Records a pattern ('x' = failure, '.' = success) on the canary; returns the events it produced. */
function canary (d: CanaryDecider, pattern: string): RollbackEvent[] {
  const events: RollbackEvent[] = []
  for (const c of pattern) {
    const e = d.record('canary', c === '.')
    if (e !== undefined) events.push(e)
  }
  return events
}

t.test('rolls back once minRequests failures are seen, not before', async (t) => {
  const { d, clock } = setup()
  t.same(canary(d, 'xxxxxxxxx'), [], '9 failures: fewer than minRequests')
  t.equal(d.weight, 20)
  t.equal(d.weightSource, 'file')
  const events = canary(d, 'x')
  t.same(events, [{ at: clock.now, previousWeight: 20, requests: 10, errors: 10, errorRatePercent: 100 }], 'the 10th rolls back')
  t.equal(d.weight, 0)
  t.equal(d.weightSource, 'rollback')
  t.equal(d.decide({ key: 'user-1' }), 'stable', 'nothing goes to the canary any more')
  t.equal(d.decide({}), 'stable', 'without a draw')
})

t.test('the error rate must be above the threshold', async (t) => {
  // [pattern, max %, rolls back?]
  const cases: [pattern: string, max: number, rollsBack: boolean][] = [
    ['xxxxx.....', 50, false], // exactly 50%
    ['xxxxxx....', 50, true], // 60%
    ['.....xxxxx', 50, false],
    ['....xxxxxx', 50, true], // checked on every record: the 10th tips it
    ['x.........', 10, false], // exactly 10%
    ['xx........', 10, true],
    ['..........', 0, false],
    ['.........x', 0, true],
    ['xxxxxxxxxx', 100, false], // 100% can never be above 100%: rollback off
  ]
  for (const [pattern, max, rollsBack] of cases) {
    const { d } = setup({ maxErrorRatePercent: max })
    t.equal(canary(d, pattern).length, rollsBack ? 1 : 0, `${pattern} with max ${max}%`)
    t.equal(d.weight, rollsBack ? 0 : 20)
  }
})

t.test('a burst of failures before minRequests is judged once enough requests arrive', async (t) => {
  const { d } = setup({ minRequests: 20 })
  t.same(canary(d, 'xxxxxxxxxxxxxxx'), [], '15 failures')
  const events = canary(d, '.....')
  t.equal(events.length, 1, '15 of 20 = 75% at the 20th request')
  t.match(events[0], { requests: 20, errors: 15, errorRatePercent: 75 })
})

t.test('stable failures never roll the canary back', async (t) => {
  const { d } = setup()
  for (let i = 0; i < 100; i++) t.equal(d.record('stable', false), undefined)
  t.equal(d.weight, 20)
  t.same(d.stats(), { canary: { requests: 0, errors: 0 }, stable: { requests: 100, errors: 100 } })
})

t.test('the window slides: old errors are forgotten', async (t) => {
  const { d, clock } = setup()
  t.same(canary(d, 'xxxxxxxxx'), [], '9 failures at t0')
  clock.now += 10_000
  t.same(canary(d, 'x'), [], 'a window later they are gone: 1 request, below minRequests')
  t.same(canary(d, '.........'), [], '1 error in 10')
  t.equal(d.weight, 20)
  t.same(d.stats().canary, { requests: 10, errors: 1 })
})

t.test('errors still inside the window count together', async (t) => {
  const { d, clock } = setup()
  t.same(canary(d, 'xxxxx'), [])
  clock.now += 9_000 // the first five are in a bucket that is still inside the window
  t.equal(canary(d, 'xxxxx').length, 1, '5 + 5 within 10 s')
})

t.test('rollback fires only once', async (t) => {
  const { d, clock } = setup()
  t.equal(canary(d, 'xxxxxxxxxx').length, 1)
  // requests in flight at the rollback, and forced requests, keep finishing with errors
  t.same(canary(d, 'xxxxxxxxxxxxxxxxxxxx'), [], 'no second event while rolled back')
  clock.now += 60_000
  t.same(canary(d, 'xxxxxxxxxxxxxxxxxxxx'), [], 'nor after the window moved on')
  t.equal(d.weight, 0)
  t.equal(d.weightSource, 'rollback')
  t.same(d.stats().canary, { requests: 20, errors: 20 }, 'but they are counted for /status')
})

t.test('an operator (or the file) restores a rolled-back canary with a clean window', async (t) => {
  for (const source of ['operator', 'file'] as const) {
    const { d } = setup()
    t.equal(canary(d, 'xxxxxxxxxx').length, 1)
    d.setWeight(5, source)
    t.equal(d.weight, 5, source)
    t.equal(d.weightSource, source)
    t.same(d.stats().canary, { requests: 0, errors: 0 }, 'the old build’s errors are gone')
    t.same(canary(d, 'x'), [], 'one new failure is below minRequests again')
    t.equal(d.decide({ force: 'never' }), 'stable')
    const again = canary(d, 'xxxxxxxxx')
    t.equal(again.length, 1, 'and it can roll back again')
    t.equal(again[0]!.previousWeight, 5)
  }
})

t.test('changing a live weight keeps the window', async (t) => {
  const { d } = setup()
  t.same(canary(d, 'xxxxx'), [])
  d.setWeight(50, 'operator')
  t.equal(canary(d, 'xxxxx').length, 1, 'errors before the change still count')
})

t.test('a canary at weight 0 is not rolled back', async (t) => {
  const { d } = setup({}, 0)
  t.same(canary(d, 'xxxxxxxxxxxxxxxxxxxx'), [], 'only forced requests reach it; nothing to take off')
  t.equal(d.weightSource, 'file')
  d.setWeight(10, 'operator')
  t.same(canary(d, 'x'), [], 'raising it from 0 starts a clean window')
})

t.test("setWeight(…, 'rollback') carries state without an event or a reset", async (t) => {
  const { d } = setup()
  t.same(canary(d, 'xxx'), [])
  d.setWeight(0, 'rollback')
  t.equal(d.weight, 0)
  t.equal(d.weightSource, 'rollback')
  t.same(d.stats().canary, { requests: 3, errors: 3 })
})

t.test('stats count both versions over the window', async (t) => {
  const { d, clock } = setup({ maxErrorRatePercent: 100 })
  canary(d, 'x..x.')
  d.record('stable', true)
  d.record('stable', false)
  t.same(d.stats(), { canary: { requests: 5, errors: 2 }, stable: { requests: 2, errors: 1 } })
  clock.now += 5_000
  d.record('stable', true)
  t.same(d.stats(), { canary: { requests: 5, errors: 2 }, stable: { requests: 3, errors: 1 } })
  clock.now += 5_000
  t.same(d.stats(), { canary: { requests: 0, errors: 0 }, stable: { requests: 1, errors: 0 } })
})

t.test('only a finished canary request judges the canary, even once the window slid past its successes', async (t) => {
  // The verdict is taken on the canary's own evidence as it arrives (record('canary', …)); the stable version's
  // requests, the bulk of the traffic, neither trigger nor carry the rollback event. Here the canary's window turns
  // bad only by its early successes expiring: a stable request ending then must not be the one that rolls it back.
  const { d, clock } = setup({ minRequests: 5 })
  t.same(canary(d, '......'), [], '6 successes at t0')
  clock.now += 6_000
  t.same(canary(d, 'xxxxx'), [], '5 errors 6 s later: 5 of 11, below 50%')
  clock.now += 4_000 // the bucket of the successes has left the 10 s window: 5 of 5 in the window now
  t.same(d.stats().canary, { requests: 5, errors: 5 })
  t.equal(d.record('stable', true), undefined, 'a stable success returns no event')
  t.equal(d.record('stable', false), undefined, 'nor a stable failure')
  t.equal(d.weight, 20, 'the canary is still in')
  t.equal(d.weightSource, 'file')
  const events = canary(d, '.')
  t.equal(events.length, 1, 'the next canary request rolls it back: 5 of 6')
  t.match(events[0], { previousWeight: 20, requests: 6, errors: 5 })
})
