// A canary weight is a percentage with up to two decimals, applied as a count of the 10,000 sticky buckets:
// weight w sends exactly round(w × 100) buckets to the canary. In floating point many such weights land just below
// their bucket count (0.29 × 100 = 28.999999999999996, 1.13 × 100 = 112.99999999999999), so truncating the product
// would send 0.28 % where the operator set 0.29 % and move the keys of the last bucket back to stable. Checked for
// every bucket of keyless draws (injected random) and for sticky keys at the edge, set from the file and by an operator.
import t from 'tap'
import { CanaryDecider, type CanaryVersion } from '../../src/release/canary.ts'
import { STICKY_BUCKETS, stickyBucket } from '../../src/release/sticky-hash.ts'

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
