// The dashboard's traffic history: log-bucket percentiles, per-pool rings of points, per-target last minute.
// A manual clock drives sampling, so every number is exact.
import t from 'tap'
import { bucketValue, LATENCY_BUCKETS, latencyBucket, quantile, TrafficHistory } from '../../src/admin/history.ts'
import { ManualClock } from '../helpers/clock.ts'

/** What the history reports for a duration: the value of its bucket. */
const reported = (ms: number): number => bucketValue(latencyBucket(ms))

t.test('latency buckets: four per doubling from 1/16 ms, everything out of range clamped', async (t) => {
  const cases: [ms: number, bucket: number][] = [
    [Number.NaN, 0], [-3, 0], [0, 0], [0.0625, 0], [0.07, 1], [1, 16], [1.0001, 17], [2, 20], [10, 30],
    [65_536, LATENCY_BUCKETS - 2], [65_537, LATENCY_BUCKETS - 1], [1e12, LATENCY_BUCKETS - 1],
  ]
  for (const [ms, bucket] of cases) t.equal(latencyBucket(ms), bucket, `${ms} ms`)
})

t.test('a reported latency is within 10% of the real one across the whole range', async (t) => {
  let worst = 0
  for (let ms = 0.07; ms < 60_000; ms *= 1.013) worst = Math.max(worst, Math.abs(reported(ms) - ms) / ms)
  t.ok(worst <= 0.1, `worst relative error ${worst.toFixed(4)}`)
})

t.test('quantile walks the buckets: table', async (t) => {
  const histogram = (durations: [ms: number, times: number][]): [Uint32Array, number] => {
    const counts = new Uint32Array(LATENCY_BUCKETS)
    let total = 0
    for (const [ms, times] of durations) { counts[latencyBucket(ms)]! += times; total += times }
    return [counts, total]
  }
  const cases: [label: string, durations: [number, number][], q: number, expected: number | null][] = [
    ['no observations', [], 0.99, null],
    ['one observation', [[10, 1]], 0.99, reported(10)],
    ['1 slow in 101: p99 is the fast bucket', [[10, 100], [500, 1]], 0.99, reported(10)],
    ['2 slow in 100: p99 is the slow bucket', [[10, 98], [500, 2]], 0.99, reported(500)],
    ['median of three buckets', [[1, 10], [10, 11], [100, 10]], 0.5, reported(10)],
    ['everything beyond the top bound', [[1e9, 3]], 0.99, bucketValue(LATENCY_BUCKETS - 1)],
  ]
  for (const [label, durations, q, expected] of cases) {
    const [counts, total] = histogram(durations)
    t.equal(quantile(counts, total, q), expected, label)
  }
})

function setup (options: { points?: number; windowSeconds?: number } = {}) {
  const clock = new ManualClock(1_000_000)
  const history = new TrafficHistory({ clock, ...options })
  history.start()
  return { clock, history }
}

t.test('one second of traffic becomes one point per pool: req/s, errors/s, p99', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  for (let i = 0; i < 50; i++) history.record('pay', 'a:1', 10, true)
  for (let i = 0; i < 5; i++) history.record('pay', 'b:1', 200, false)
  history.record('users', 'c:1', 3, true)
  clock.advance(1000)
  t.same(history.series('pay'), { t: [1_001_000], rps: [55], errors: [5], p99: [reported(200)] })
  t.same(history.series('users'), { t: [1_001_000], rps: [1], errors: [0], p99: [reported(3)] })
  t.equal(history.series('nope'), undefined)
  clock.advance(1000)
  t.same(history.series('pay'), { t: [1_001_000, 1_002_000], rps: [55, 0], errors: [5, 0], p99: [reported(200), null] }, 'an idle second is a zero point')
})

t.test('a late sample divides by the time that really passed', async (t) => {
  const clock = new ManualClock(0)
  const history = new TrafficHistory({ clock })
  history.sample(1000)
  for (let i = 0; i < 30; i++) history.record('pay', 'a:1', 5, i % 10 !== 0)
  history.sample(2500)
  t.same(history.series('pay', 1), { t: [2500], rps: [20], errors: [2], p99: [reported(5)] })
})

t.test('a pool keeps its last `points` points, oldest first', async (t) => {
  const { clock, history } = setup({ points: 300 })
  t.teardown(() => history.stop())
  for (let s = 1; s <= 305; s++) {
    for (let i = 0; i < s; i++) history.record('pay', 'a:1', 1, true)
    clock.advance(1000)
  }
  const series = history.series('pay')!
  t.equal(series.t.length, 300)
  t.equal(series.t[0], 1_006_000)
  t.equal(series.t.at(-1), 1_305_000)
  t.same(series.rps.slice(0, 3), [6, 7, 8])
  t.same(history.series('pay', 2)!.rps, [304, 305], 'the last two')
})

t.test('a target reports its last minute: rates, error share, p99; old seconds leave the window', async (t) => {
  const { clock, history } = setup({ windowSeconds: 60 })
  t.teardown(() => history.stop())
  // 30 s of 10 req/s, one failing each second (slow), then silence
  for (let s = 0; s < 30; s++) {
    for (let i = 0; i < 9; i++) history.record('pay', 'a:1', 20, true)
    history.record('pay', 'a:1', 900, false)
    clock.advance(1000)
  }
  t.same(history.target('pay', 'a:1'), { rps: 10, errorRate: 0.1, p99: reported(900) }, 'after 30 s: over the 30 s seen')
  clock.advance(30_000)
  t.same(history.target('pay', 'a:1'), { rps: 5, errorRate: 0.1, p99: reported(900) }, 'after 60 s: 300 requests in 60 s')
  clock.advance(29_000)
  t.same(history.target('pay', 'a:1'), { rps: 10 / 60, errorRate: 0.1, p99: reported(900) }, 'one busy second left in the window')
  clock.advance(1000)
  t.same(history.target('pay', 'a:1'), { rps: 0, errorRate: 0, p99: null }, 'all gone')
  t.equal(history.target('pay', 'nope:1'), undefined)
})

t.test('the p99 of a target over the minute, not of its last second', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  for (let i = 0; i < 5; i++) history.record('pay', 'a:1', 700, true)
  clock.advance(1000)
  for (let s = 0; s < 4; s++) {
    for (let i = 0; i < 100; i++) history.record('pay', 'a:1', 4, true)
    clock.advance(1000)
  }
  // 405 requests: the 5 slow ones are more than 1%
  t.equal(history.target('pay', 'a:1')!.p99, reported(700))
  t.equal(history.series('pay', 1)!.p99[0], reported(4), 'while the pool point of the last second is fast')
})

t.test('summary: every pool\'s last points and every target\'s minute', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  history.track('idle', ['z:1'])
  history.record('pay', 'a:1', 10, true)
  clock.advance(1000)
  history.record('pay', 'b:1', 10, false)
  clock.advance(1000)
  t.same(history.summary(1), {
    pools: {
      idle: { t: [1_002_000], rps: [0], errors: [0], p99: [null] },
      pay: { t: [1_002_000], rps: [1], errors: [1], p99: [reported(10)] },
    },
    targets: {
      idle: { 'z:1': { rps: 0, errorRate: 0, p99: null } },
      pay: { 'a:1': { rps: 0.5, errorRate: 0, p99: reported(10) }, 'b:1': { rps: 1, errorRate: 1, p99: reported(10) } },
    },
  })
})

t.test('forget drops a pool or one target', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  history.record('pay', 'a:1', 1, true)
  history.record('pay', 'b:1', 1, true)
  history.record('old', 'c:1', 1, true)
  history.forget('old')
  history.forget('pay', 'b:1')
  clock.advance(1000)
  t.same(Object.keys(history.summary().pools), ['pay'])
  t.same(Object.keys(history.summary().targets.pay!), ['a:1'])
  t.same(history.series('pay')!.rps, [2], 'what a target served before it was forgotten counts in that second')
  history.record('pay', 'a:1', 1, true)
  clock.advance(1000)
  t.same(history.series('pay')!.rps, [2, 1], 'and nothing after')
  t.same(Object.keys(history.summary().targets.pay!), ['a:1'])
})

t.test('sampling runs once per interval until stop(), and tells its listeners', async (t) => {
  const { clock, history } = setup()
  let samples = 0
  const unsubscribe = history.onSample(() => samples++)
  clock.advance(3000)
  t.equal(samples, 3)
  unsubscribe()
  clock.advance(1000)
  t.equal(samples, 3, 'unsubscribed')
  history.stop()
  t.equal(clock.pendingTimers, 0)
  history.record('pay', 'a:1', 1, true)
  clock.advance(5000)
  t.equal(history.series('pay')!.t.length, 0, 'no sample after stop')
})

t.test('a duration beyond the top bound reports the top bound itself (65,536 ms), not a value inside a bucket', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  history.record('pay', 'a:1', 100_000, true)
  clock.advance(1000)
  t.same(history.series('pay')!.p99, [65_536])
  t.equal(history.target('pay', 'a:1')!.p99, 65_536)
})

t.test('a target seen before the first sample: no rate yet (0, not NaN), its latency already', async (t) => {
  const { history } = setup()
  t.teardown(() => history.stop())
  history.record('pay', 'a:1', 10, true)
  t.same(history.target('pay', 'a:1'), { rps: 0, errorRate: 0, p99: reported(10) })
})

t.test('two samples at the same instant: the second divides by 1 ms, never by zero', async (t) => {
  const history = new TrafficHistory({ clock: new ManualClock(0) })
  history.sample(1000)
  history.record('pay', 'a:1', 5, false)
  history.sample(1000)
  t.same(history.series('pay', 1), { t: [1000], rps: [1000], errors: [1000], p99: [reported(5)] })
})

t.test('the first sample covers one interval of the configured length', async (t) => {
  const clock = new ManualClock(0)
  const history = new TrafficHistory({ clock, intervalMs: 500 })
  history.start()
  t.teardown(() => history.stop())
  for (let i = 0; i < 10; i++) history.record('pay', 'a:1', 5, true)
  clock.advance(500)
  t.same(history.series('pay')!.rps, [20], '10 requests in half a second')
})

t.test('a pool point\'s p99 is of that second alone: a slow second after a fast one is slow', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  for (let i = 0; i < 100; i++) history.record('pay', 'a:1', 4, true)
  clock.advance(1000)
  for (let i = 0; i < 100; i++) history.record('pay', 'a:1', 700, true)
  clock.advance(1000)
  t.same(history.series('pay')!.p99, [reported(4), reported(700)])
})

t.test('start() twice runs one timer: one sample per interval', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  history.start()
  t.equal(clock.pendingTimers, 1)
  let samples = 0
  history.onSample(() => samples++)
  clock.advance(1000)
  t.equal(samples, 1)
})

t.test('track() of a target already counted keeps its counts', async (t) => {
  const { clock, history } = setup()
  t.teardown(() => history.stop())
  for (let i = 0; i < 4; i++) history.record('pay', 'a:1', 10, i === 0)
  clock.advance(1000)
  history.track('pay', ['a:1', 'b:1'])
  t.same(history.target('pay', 'a:1'), { rps: 4, errorRate: 0.75, p99: reported(10) })
  t.same(history.target('pay', 'b:1'), { rps: 0, errorRate: 0, p99: null })
})

t.test('asked for more points than a full ring keeps: each point once, oldest first', async (t) => {
  const { clock, history } = setup({ points: 3 })
  t.teardown(() => history.stop())
  for (let s = 1; s <= 5; s++) {
    for (let i = 0; i < s; i++) history.record('pay', 'a:1', 1, true)
    clock.advance(1000)
  }
  t.same(history.series('pay', 10)!.rps, [3, 4, 5])
  t.same(history.summary(10).pools.pay!.rps, [3, 4, 5])
})
