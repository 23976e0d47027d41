// The canary decider (src/release/canary.ts): each subtest is one behaviour, named as its file was.
import t from 'tap'
import { type CanaryConfig, CanaryDecider, type CanaryDeciderOptions, type CanaryVersion, type RollbackEvent, type WeightSource } from '../../src/release/canary.ts'
import { mulberry32, noRandom, sequence } from './prng.ts'
import { STICKY_BUCKETS, stickyBucket } from '../../src/release/sticky-hash.ts'

// When a canary is rolled back, the event (the 'canary rolled back: … (33.3%)' line in /events and the dashboard's
// "⚠ rolled back … failed (x%)") reports the error rate that tripped it. An operator comparing it with
// maxErrorRatePercent needs the exact rate, not one rounded to a whole percent (a 5% threshold tripped at 5.4% must
// not read "5%", which looks like it should not have tripped). Pins src/release/canary.ts #maybeRollBack's
// `errorRatePercent: (errors * 100) / requests` (line 147).
t.test('release-canary-rollback-rate-exact', async (t) => {
  t.test('the rollback event carries the exact error rate', async (t) => {
    const cases: [maxErrorRatePercent: number, minRequests: number, pattern: string, rate: number][] = [
      [30, 3, '..x', 100 / 3], // 33.33…%
      [5, 37, '.'.repeat(35) + 'xx', 200 / 37], // 5.405…% over a 5% threshold
      [50, 8, '...xxxxx', 62.5],
      [0, 1, 'x', 100],
    ]
    for (const [maxErrorRatePercent, minRequests, pattern, rate] of cases) {
      const d = new CanaryDecider(
        { pool: 'c', weight: 10, stickyBy: 'none', rollback: { maxErrorRatePercent, minRequests, windowMs: 10_000 } },
        { now: () => 1_000_000, random: () => 0 },
      )
      let event
      for (const c of pattern) event = d.record('canary', c === '.') ?? event
      t.ok(event !== undefined, `${pattern}: rolled back`)
      t.equal(event?.errorRatePercent, rate, `${pattern} → ${rate}%`)
      t.equal(event?.errors, [...pattern].filter((c) => c === 'x').length)
      t.equal(event?.requests, pattern.length)
    }
  })
})


t.test('release-canary-rollback', async (t) => {
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

  // requests sent to the old build before a restore and finishing after it (slow failures of pods being taken down)
  // are that build's: counted against the restored canary, they rolled it back before it served anyone. What counts
  // is when a request's version was decided (a request that waited its turn and was sent after the raise is the new
  // build's), so the decision's epoch goes back to record().
  t.test('answers of requests decided before a restore are not counted against the restored canary', async (t) => {
    const { d } = setup()
    t.equal(canary(d, 'xxxxxxxxxx').length, 1)
    const decidedBefore = d.epoch
    d.setWeight(50, 'operator')
    t.not(d.epoch, decidedBefore, 'raised from 0: another build')
    for (let i = 0; i < 20; i++) t.equal(d.record('canary', false, decidedBefore), undefined)
    t.same(d.stats().canary, { requests: 0, errors: 0 }, 'not counted')
    t.equal(d.weight, 50, 'not rolled back')
    const decidedAfter = d.epoch
    d.setWeight(60, 'operator')
    t.equal(d.epoch, decidedAfter, 'a change of a live weight is the same build')
    const failures = []
    for (let i = 0; i < 10; i++) failures.push(d.record('canary', false, decidedAfter))
    t.equal(failures.filter((e) => e !== undefined).length, 1, 'the restored build\'s own errors roll it back')
  })

  // the force header is the client's: once the canary is rolled back for its errors, it no longer reaches it (as
  // Flagger and Argo Rollouts drop header routes when they abort), until an operator or a reload sets a weight
  t.test('after an automatic rollback the force header keeps requests off the canary, until a weight is set', async (t) => {
    const d = new CanaryDecider(
      { pool: 'orders-canary', weight: 20, stickyBy: 'none', force: { header: 'x-canary', values: ['always'] }, rollback: ROLLBACK },
      { now: () => 1_000_000, random: noRandom },
    )
    t.equal(d.decide({ force: 'always' }), 'canary', 'forced before')
    t.equal(canary(d, 'xxxxxxxxxx').length, 1)
    t.equal(d.decide({ force: 'always' }), 'stable', 'not after the rollback')
    d.setWeight(0, 'operator')
    t.equal(d.decide({ force: 'always' }), 'canary', 'an operator\'s weight, 0 too, lets it force again')
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
})


t.test('release-canary-split', async (t) => {
  const ROLLBACK = { maxErrorRatePercent: 50, minRequests: 20, windowMs: 60_000 }

  function decider (config: Partial<CanaryConfig>, options: CanaryDeciderOptions = {}): CanaryDecider {
    return new CanaryDecider({ pool: 'orders-canary', weight: 10, stickyBy: 'header:x-user-id', rollback: ROLLBACK, ...config }, { now: () => 0, random: noRandom, ...options })
  }

  const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => `user-${i}`)
  const share = (versions: readonly CanaryVersion[]): number => versions.filter((v) => v === 'canary').length / versions.length

  t.test('weight 10 sends 10% ± 1.5% of keyless requests to the canary', async (t) => {
    for (const seed of [1, 2, 3]) {
      const d = decider({ weight: 10, stickyBy: 'none' }, { random: mulberry32(seed) })
      const got = share(Array.from({ length: 10_000 }, () => d.decide({})))
      t.ok(Math.abs(got - 0.1) <= 0.015, `seed ${seed}: ${got}`)
    }
  })

  t.test('a keyless request draws once: canary iff the draw falls in the first weight%', async (t) => {
    const cases: [weight: number, draw: number, want: CanaryVersion][] = [
      [10, 0, 'canary'],
      [10, 0.0999, 'canary'],
      [10, 0.1, 'stable'],
      [10, 0.9999, 'stable'],
      [25, 0.2499, 'canary'],
      [25, 0.25, 'stable'],
      [0.5, 0.0049, 'canary'],
      [0.5, 0.005, 'stable'],
      [99, 0.9899, 'canary'],
      [99, 0.99, 'stable'],
    ]
    for (const [weight, draw, want] of cases) {
      // sequence() fails the test if decide() draws more than once
      t.equal(decider({ weight, stickyBy: 'none' }, { random: sequence(draw) }).decide({}), want, `weight ${weight}, draw ${draw}`)
    }
  })

  t.test('requests without a sticky key, or with an empty one, are drawn at random', async (t) => {
    for (const key of [undefined, '']) {
      t.equal(decider({ weight: 50 }, { random: sequence(0.1) }).decide({ key }), 'canary', `key ${JSON.stringify(key)}`)
      t.equal(decider({ weight: 50 }, { random: sequence(0.9) }).decide({ key }), 'stable', `key ${JSON.stringify(key)}`)
    }
  })

  t.test("stickyBy 'none' ignores a key", async (t) => {
    const d = decider({ weight: 50, stickyBy: 'none' }, { random: sequence(0.9, 0.1) })
    t.equal(d.decide({ key: 'user-1' }), 'stable')
    t.equal(d.decide({ key: 'user-1' }), 'canary', 'the same key, another draw')
  })

  t.test('weight 0 and 100 are exact and draw nothing', async (t) => {
    for (const key of [undefined, 'user-1', 'alice']) {
      t.equal(decider({ weight: 0 }).decide({ key }), 'stable', `0, ${key}`)
      t.equal(decider({ weight: 100 }).decide({ key }), 'canary', `100, ${key}`)
    }
    const d = decider({ weight: 0 })
    t.ok(Array.from({ length: 1000 }, () => d.decide({})).every((v) => v === 'stable'))
    d.setWeight(100, 'operator')
    t.ok(Array.from({ length: 1000 }, () => d.decide({})).every((v) => v === 'canary'))
  })

  t.test('sticky keys keep their version across requests and never draw', async (t) => {
    const d = decider({ weight: 10 }) // noRandom: a draw would fail the test
    let canaries = 0
    for (const key of keys(1000)) {
      const first = d.decide({ key })
      const again = Array.from({ length: 9 }, () => d.decide({ key }))
      t.ok(again.every((v) => v === first), `${key} keeps ${first}`)
      if (first === 'canary') canaries++
    }
    t.ok(Math.abs(canaries / 1000 - 0.1) <= 0.03, `about 10% of keys on the canary: ${canaries}`)
  })

  t.test('raising the weight 10 → 50 moves keys only from stable to canary', async (t) => {
    const d = decider({ weight: 10 })
    const before = keys(1000).map((key) => d.decide({ key }))
    d.setWeight(50, 'operator')
    const after = keys(1000).map((key) => d.decide({ key }))
    const backToStable = keys(1000).filter((_, i) => before[i] === 'canary' && after[i] !== 'canary')
    t.same(backToStable, [], 'no canary key went back to stable')
    t.ok(Math.abs(share(after) - 0.5) <= 0.05, `about 50% of keys on the canary: ${share(after)}`)
    t.ok(share(after) > share(before), 'and some moved')
    // lowering is the mirror image: only canary → stable
    d.setWeight(5, 'operator')
    const lowered = keys(1000).map((key) => d.decide({ key }))
    t.same(keys(1000).filter((_, i) => lowered[i] === 'canary' && before[i] !== 'canary'), [], '10 → 5 keeps a subset of the 10% keys')
  })

  t.test('two deciders (two gateway replicas) agree on every key', async (t) => {
    for (const weight of [1, 10, 33.3, 50, 90]) {
      const a = decider({ weight })
      const b = decider({ weight }, { now: () => 123_456 })
      const disagree = keys(1000).filter((key) => a.decide({ key }) !== b.decide({ key }))
      t.same(disagree, [], `weight ${weight}`)
    }
  })

  t.test('sticky buckets are fixed values, not seeded per process', async (t) => {
    // if these change, every deployed canary reshuffles its users on upgrade
    const cases: [key: string, salt: string, bucket: number][] = [
      ['alice', '', 9143],
      ['bob', '', 9740],
      ['user-1', '', 4670],
      ['user-2', '', 1986],
      ['10.0.0.7', '', 8651],
      ['ü-ñ', '', 4357],
      ['alice', 'orders-canary', 309],
      ['user-1', 'orders-canary', 4378],
    ]
    for (const [key, salt, bucket] of cases) t.equal(stickyBucket(key, salt), bucket, `${key} / ${JSON.stringify(salt)}`)
    // the decision follows the bucket: alice (9143) joins at weight 91.44, not at 91.43
    t.equal(decider({ weight: 91.43 }).decide({ key: 'alice' }), 'stable')
    t.equal(decider({ weight: 91.44 }).decide({ key: 'alice' }), 'canary')
    t.equal(decider({ weight: 4 }, { salt: 'orders-canary' }).decide({ key: 'alice' }), 'canary', 'a salt moves the key')
  })

  t.test('sticky buckets spread evenly over [0, 10000)', async (t) => {
    const tenths = new Array<number>(10).fill(0)
    const outside: string[] = []
    for (const key of keys(20_000)) {
      const b = stickyBucket(key)
      if (!(Number.isInteger(b) && b >= 0 && b < STICKY_BUCKETS)) outside.push(`${key}: ${b}`)
      else tenths[Math.floor(b / 1000)]!++
    }
    t.same(outside, [], 'every bucket is a whole number in range')
    for (const [i, n] of tenths.entries()) t.ok(Math.abs(n / 20_000 - 0.1) <= 0.01, `buckets ${i * 1000}-${i * 1000 + 999}: ${n}`)
  })

  t.test('the force header overrides the weight', async (t) => {
    const force = { header: 'x-canary', values: ['always', 'QA'] }
    const cases: [weight: number, value: string | undefined, key: string | undefined, want: CanaryVersion][] = [
      [0, 'always', undefined, 'canary'],
      [0, 'always', 'user-1', 'canary'],
      [0, ' Always ', undefined, 'canary'],
      [0, 'qa', undefined, 'canary'],
      [100, 'never', undefined, 'stable'],
      [100, 'NEVER', 'user-1', 'stable'],
      [0, 'never', undefined, 'stable'],
      [100, 'always', undefined, 'canary'],
      [0, 'sometimes', undefined, 'stable'], // unknown values change nothing
      [100, 'sometimes', undefined, 'canary'],
      [100, '', undefined, 'canary'],
    ]
    for (const [weight, value, key, want] of cases) {
      t.equal(decider({ weight, force }).decide({ key, force: value }), want, `weight ${weight}, x-canary ${JSON.stringify(value)}`)
    }
    t.equal(decider({ weight: 0 }).decide({ force: 'always' }), 'stable', 'without force config, no value forces the canary')
    t.equal(decider({ weight: 100 }).decide({ force: 'never' }), 'stable', "'never' always keeps a request off it")
  })

  t.test('setWeight records the weight and its source, and refuses nonsense', async (t) => {
    const d = decider({ weight: 10 })
    t.equal(d.weight, 10)
    t.equal(d.weightSource, 'file')
    d.setWeight(30, 'operator')
    t.equal(d.weight, 30)
    t.equal(d.weightSource, 'operator')
    for (const bad of [-1, 100.01, Number.NaN, Infinity]) {
      t.throws(() => d.setWeight(bad, 'operator'), RangeError, String(bad))
    }
    t.equal(d.weight, 30, 'a refused weight changes nothing')
    t.throws(() => decider({ weight: 101 }), RangeError, 'nor from the file')
    t.throws(() => decider({ rollback: { ...ROLLBACK, maxErrorRatePercent: 101 } }), RangeError)
    t.throws(() => decider({ rollback: { ...ROLLBACK, minRequests: -1 } }), RangeError)
    t.throws(() => decider({ rollback: { ...ROLLBACK, windowMs: 0 } }), RangeError)
  })

  t.test('the edges of the rollback settings are accepted: minRequests 0, maxErrorRatePercent 0 and 100', async (t) => {
    // The decider takes any whole minRequests ≥ 0 (the config asks for ≥ 1, an embedder may not): 0 means "judge from
    // the first canary request on". Refusing it would throw where the documented range says it is fine.
    const d = decider({ rollback: { ...ROLLBACK, minRequests: 0, maxErrorRatePercent: 0 } })
    t.equal(d.record('canary', true), undefined, 'a success: 0% is not above 0%')
    t.not(d.record('canary', false), undefined, 'the first failure rolls it back')
    t.equal(d.weight, 0)
    t.doesNotThrow(() => decider({ rollback: { ...ROLLBACK, maxErrorRatePercent: 100 } }), 'maxErrorRatePercent 100: rollback off')
  })
})

// A canary weight is a percentage with up to two decimals, applied as a count of the 10,000 sticky buckets:
// weight w sends exactly round(w × 100) buckets to the canary. In floating point many such weights land just below
// their bucket count (0.29 × 100 = 28.999999999999996, 1.13 × 100 = 112.99999999999999), so truncating the product
// would send 0.28 % where the operator set 0.29 % and move the keys of the last bucket back to stable. Checked for
// every bucket of keyless draws (injected random) and for sticky keys at the edge, set from the file and by an operator.
t.test('release-canary-weight-rounding', async (t) => {
  const ROLLBACK = { maxErrorRatePercent: 50, minRequests: 10, windowMs: 60_000 }
  // weights whose weight × 100 is not exact in binary floating point, either side, and exact ones for contrast
  const WEIGHTS: [weight: number, buckets: number][] = [
    [0.29, 29], [0.57, 57], [0.58, 58], [1.13, 113], [1.15, 115], [2.01, 201], [4.1, 410], [8.2, 820], [9.7, 970],
    [16.4, 1640], [32.8, 3280], [0.01, 1], [0.5, 50], [12.5, 1250], [99.99, 9999],
  ]

  /** How many of the 10,000 buckets a keyless request lands on the canary from (one draw in the middle of each). */
  function canaryBuckets (decider: (random: () => number) => CanaryDecider): number {
    let draw = 0
    const d = decider(() => draw)
    let n = 0
    for (let b = 0; b < STICKY_BUCKETS; b++) {
      draw = (b + 0.5) / STICKY_BUCKETS
      if (d.decide({}) === 'canary') n++
    }
    return n
  }

  t.test('keyless requests: exactly round(weight × 100) of the 10,000 buckets go to the canary', async (t) => {
    for (const [weight, buckets] of WEIGHTS) {
      const fromFile = canaryBuckets((random) => new CanaryDecider({ pool: 'c', weight, stickyBy: 'none', rollback: ROLLBACK }, { random }))
      t.equal(fromFile, buckets, `weight ${weight} from the file`)
      const byOperator = canaryBuckets((random) => {
        const d = new CanaryDecider({ pool: 'c', weight: 50, stickyBy: 'none', rollback: ROLLBACK }, { random })
        d.setWeight(weight, 'operator')
        return d
      })
      t.equal(byOperator, buckets, `weight ${weight} set by an operator`)
    }
  })

  /** A key of the given sticky bucket (searched in order: the same key every run). */
  function keyInBucket (bucket: number): string {
    for (let i = 0; ; i++) if (stickyBucket(`user-${i}`) === bucket) return `user-${i}`
  }

  t.test('sticky keys: the key of the last canary bucket is on the canary, the next bucket stable', async (t) => {
    for (const [weight, buckets] of WEIGHTS.filter(([w]) => [0.29, 0.57, 1.13, 4.1].includes(w))) {
      const d = new CanaryDecider({ pool: 'c', weight, stickyBy: 'header:x-user-id', rollback: ROLLBACK }, { random: () => { throw new Error('a keyed request draws nothing') } })
      const expected: [bucket: number, want: CanaryVersion][] = [[0, 'canary'], [buckets - 1, 'canary'], [buckets, 'stable'], [STICKY_BUCKETS - 1, 'stable']]
      for (const [bucket, want] of expected) t.equal(d.decide({ key: keyInBucket(bucket) }), want, `weight ${weight}, bucket ${bucket}`)
    }
  })
})

// After an automatic rollback, /status shows the canary's requests and errors over the window: what tripped it. Setting
// the weight to 0 again (an operator's `POST /routes/:name/canary {weight: 0}`, or a reload whose file says 0) changes
// nothing for the canary's traffic, so those numbers must stay; only raising a canary from 0 starts it with an empty
// window. Pins src/release/canary.ts setWeight's `this.#weight === 0 && weight > 0` (line 89): the `weight > 0` half.
t.test('release-canary-zero-weight-keeps-stats', async (t) => {
  t.test('0 → 0 keeps the canary window; 0 → more clears it', async (t) => {
    const cases: [source: WeightSource, weight: number, requests: number][] = [
      ['operator', 0, 4],
      ['file', 0, 4],
      ['rollback', 0, 4],
      ['operator', 5, 0],
    ]
    for (const [source, weight, requests] of cases) {
      const d = new CanaryDecider(
        { pool: 'c', weight: 20, stickyBy: 'none', rollback: { maxErrorRatePercent: 50, minRequests: 4, windowMs: 10_000 } },
        { now: () => 1_000_000, random: () => 0 },
      )
      for (let i = 0; i < 4; i++) d.record('canary', false)
      t.equal(d.weight, 0, 'rolled back')
      t.strictSame(d.stats().canary, { requests: 4, errors: 4 }, 'what tripped it')
      d.setWeight(weight, source)
      t.strictSame(d.stats().canary, { requests, errors: requests }, `setWeight(${weight}, ${source}) → ${requests} requests in the window`)
    }
  })
})

// Only the canary changes build when its weight is raised from 0: the stable pool is the same build before and after,
// so a stable answer decided before the raise and finished after it still counts in the stable window that
// /admin/status shows beside the canary's (the operator compares the two error rates). Pins that the epoch check in
// CanaryDecider.record drops stale *canary* answers only.
t.test('release-canary-stable-across-epochs', async (t) => {
  t.test('a stable answer decided before a restore is counted in the stable window', async (t) => {
    const d = new CanaryDecider(
      { pool: 'c', weight: 20, stickyBy: 'none', rollback: { maxErrorRatePercent: 50, minRequests: 10, windowMs: 10_000 } },
      { now: () => 1_000_000, random: () => 0.99 },
    )
    t.equal(d.decide({}), 'stable')
    const decided = d.epoch
    d.setWeight(0, 'operator')
    d.setWeight(20, 'operator')
    t.not(d.epoch, decided, 'raised from 0: the canary is another build')
    d.record('stable', false, decided)
    t.same(d.stats().stable, { requests: 1, errors: 1 })
  })
})
