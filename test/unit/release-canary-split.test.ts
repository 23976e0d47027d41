import t from 'tap'
import { type CanaryConfig, CanaryDecider, type CanaryDeciderOptions, type CanaryVersion } from '../../src/release/canary.ts'
import { STICKY_BUCKETS, stickyBucket } from '../../src/release/sticky-hash.ts'
import { mulberry32, noRandom, sequence } from './prng.ts'

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
