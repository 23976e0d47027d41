import CircuitBreaker from 'opossum'
import t from 'tap'
import { clockAt } from '../helpers/clock.ts'
import type { CircuitBreakerConfig } from '../../src/config/schema.ts'
import { NOT_A_PROBE, PoolBreaker, type BreakerState, type Verdict } from '../../src/resilience/breaker.ts'
import { ManualClock } from '../helpers/clock.ts'
import { nextState } from '../helpers/breaker-state.ts'

const tiny: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 2, rollingWindowMs: 10_000, resetTimeoutMs: 50 }

function breaker (t: { teardown: (fn: () => void) => void }, config: Partial<CircuitBreakerConfig> = {}, now?: () => number): { b: PoolBreaker; events: [BreakerState, BreakerState][] } {
  const b = new PoolBreaker({ ...tiny, ...config }, now && clockAt(now))
  t.teardown(() => b.shutdown())
  const events: [BreakerState, BreakerState][] = []
  b.on('state', (state, previous) => events.push([state, previous]))
  return { b, events }
}

/** opossum hears a verdict through a promise: its state moves a turn later. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** One request through the breaker, admitted and judged at once; false when it was refused. */
async function request (b: PoolBreaker, verdict: Verdict): Promise<boolean> {
  const admission = b.admit()
  if (admission === undefined) return false
  b.judge(verdict, admission)
  await settled()
  return true
}
const fail = (b: PoolBreaker): Promise<boolean> => request(b, 'failure')
const succeed = (b: PoolBreaker): Promise<boolean> => request(b, 'success')

t.test('closed: requests are admitted, not as probes', async (t) => {
  const { b, events } = breaker(t)
  t.equal(b.state, 'closed')
  t.equal(b.allows(), true)
  t.equal(b.admit(), NOT_A_PROBE)
  t.equal(await succeed(b), true)
  t.equal(b.retryAfterSeconds(), undefined, 'no Retry-After while closed')
  t.strictSame(events, [])
})

t.test('failures open it at volumeThreshold', async (t) => {
  const { b, events } = breaker(t)
  await fail(b)
  t.equal(b.state, 'closed', 'below volumeThreshold')
  await fail(b)
  t.equal(b.state, 'open', 'volumeThreshold reached at 100% errors')
  t.equal(b.allows(), false)
  t.strictSame(events, [['open', 'closed']])
})

t.test('open: requests are refused, and no further events', async (t) => {
  const { b, events } = breaker(t, { resetTimeoutMs: 10_000 })
  await fail(b)
  await fail(b)
  t.equal(b.admit(), undefined, 'refused')
  t.equal(await succeed(b), false)
  t.strictSame(events, [['open', 'closed']], 'one event per change')
})

t.test('the error threshold is a strict percentage', async (t) => {
  const { b } = breaker(t)
  await succeed(b)
  await fail(b)
  t.equal(b.state, 'closed', '1 of 2 = 50% is not above 50%')
  await fail(b)
  t.equal(b.state, 'open', '2 of 3 is')
})

t.test('no verdict (a client that left, no target) counts nothing', async (t) => {
  const { b, events } = breaker(t)
  for (let i = 0; i < 10; i++) await request(b, undefined)
  await fail(b)
  t.equal(b.state, 'closed', 'one failure, below volumeThreshold: the ten without a verdict were not counted')
  await succeed(b)
  t.equal(b.state, 'closed', '1 failure in 2 verdicts')
  t.strictSame(events, [])
})

t.test('a verdict that comes while open is not counted', async (t) => {
  const { b } = breaker(t, { resetTimeoutMs: 10_000 })
  const late = b.admit()!
  await fail(b)
  await fail(b)
  t.equal(b.state, 'open')
  b.judge('success', late)
  await settled()
  t.equal(b.state, 'open', 'a success of a request admitted before it opened does not close it')
})

t.test('half-open after resetTimeoutMs: one probe at a time, and a good one closes it', async (t) => {
  const { b, events } = breaker(t)
  await fail(b)
  await fail(b)
  const state = await nextState(b)
  t.equal(state, 'half-open')
  t.equal(b.allows(), true, 'the probe slot is free')
  const probe = b.admit()
  t.ok(probe !== undefined && probe !== NOT_A_PROBE, 'admitted as the probe')
  t.equal(b.allows(), false, 'only one probe at a time')
  t.equal(b.admit(), undefined, 'a second request during the probe is refused')
  b.judge('success', probe!)
  await settled()
  t.equal(b.state, 'closed')
  t.equal(b.allows(), true)
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
})

t.test('half-open: a failed probe opens it again', async (t) => {
  const { b, events } = breaker(t)
  await fail(b)
  await fail(b)
  await nextState(b)
  t.equal(await fail(b), true, 'admitted as the probe')
  t.equal(b.state, 'open')
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['open', 'half-open']])
})

t.test('half-open: a probe with no verdict frees the slot and changes nothing', async (t) => {
  const { b, events } = breaker(t)
  await fail(b)
  await fail(b)
  await nextState(b)
  await request(b, undefined)
  t.equal(b.state, 'half-open', 'neither closed nor reopened')
  t.equal(b.allows(), true, 'the next request may probe')
  t.equal(await succeed(b), true)
  t.equal(b.state, 'closed')
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
})

t.test('half-open: a request admitted while closed that ends with no verdict neither reopens it nor takes the probe slot', async (t) => {
  const { b, events } = breaker(t)
  const old = b.admit()!
  t.equal(old, NOT_A_PROBE)
  await fail(b)
  await fail(b)
  await nextState(b)
  const probe = b.admit()!
  b.judge(undefined, old) // its client left while the breaker was half-open
  await settled()
  t.equal(b.state, 'half-open', 'not reopened')
  t.equal(b.admit(), undefined, 'the probe still holds the slot')
  b.judge('success', probe)
  await settled()
  t.equal(b.state, 'closed', "the probe's success closes it")
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
})

t.test('half-open: only the probe decides; a request admitted while closed that fails meanwhile does not', async (t) => {
  const { b, events } = breaker(t)
  const old = b.admit()!
  await fail(b)
  await fail(b)
  await nextState(b)
  const probe = b.admit()!
  b.judge('failure', old) // e.g. its deadline passed while the probe was in flight
  await settled()
  t.equal(b.state, 'half-open', 'not reopened by the straggler')
  b.judge('success', probe)
  await settled()
  t.equal(b.state, 'closed', "the probe's success closes it")
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
})

t.test('half-open: a probe without a verdict gives its slot up after probeLeaseMs', async (t) => {
  const clock = new ManualClock()
  const b = new PoolBreaker(tiny, clock, 300)
  t.teardown(() => b.shutdown())
  await fail(b)
  await fail(b)
  await nextState(b)
  const slow = b.admit()! // an upload trickling in: no answer for a long while
  t.equal(b.admit(), undefined, 'the slot is held')
  clock.advance(299)
  t.equal(b.allows(), false)
  clock.advance(1)
  t.equal(b.allows(), true, 'free after the lease')
  const next = b.admit()!
  t.ok(next !== NOT_A_PROBE && next !== slow, 'the next request probes')
  b.judge('failure', slow) // the slow one ends late, failed: neither its verdict nor its end touch the new probe
  await settled()
  t.equal(b.state, 'half-open', 'a probe whose lease ran out does not decide')
  t.equal(b.allows(), false, "the new probe's slot is still held")
  b.judge('success', next)
  await settled()
  t.equal(b.state, 'closed')
})

t.test('retryAfterSeconds counts down from the opening with the injected clock', async (t) => {
  let now = 1_000_000
  const { b } = breaker(t, { resetTimeoutMs: 10_000 }, () => now)
  b.force('open')
  const cases: [elapsed: number, want: number][] = [[0, 10], [1, 10], [1_000, 9], [2_500, 8], [9_000, 1], [9_999, 1], [10_000, 1], [60_000, 1]]
  for (const [elapsed, want] of cases) {
    now = 1_000_000 + elapsed
    t.equal(b.retryAfterSeconds(), want, `${elapsed} ms after opening → ${want} s`)
  }
})

t.test('force opens and closes by hand, one event per change', async (t) => {
  const { b, events } = breaker(t, { resetTimeoutMs: 10_000 })
  b.force('closed')
  t.strictSame(events, [], 'closing a closed breaker changes nothing')
  b.force('open')
  b.force('open')
  t.equal(b.state, 'open')
  t.equal(b.allows(), false)
  b.force('closed')
  b.force('closed')
  t.equal(b.state, 'closed')
  t.equal(b.allows(), true)
  t.strictSame(events, [['open', 'closed'], ['closed', 'open']])
  t.equal(await succeed(b), true, 'admitted again')
})

t.test('a disabled breaker admits everything and counts nothing', async (t) => {
  const { b, events } = breaker(t, { enabled: false })
  for (let i = 0; i < 10; i++) t.equal(await fail(b), true)
  t.equal(b.admit(), NOT_A_PROBE)
  b.force('open')
  t.equal(b.state, 'closed')
  t.equal(b.allows(), true)
  t.equal(b.retryAfterSeconds(), undefined)
  t.strictSame(events, [])
})

t.test('keeps no latency per request: no rolling percentiles, no snapshots', async (t) => {
  // the opossum instance is private to PoolBreaker: catch it as it subscribes to its own events
  const made: CircuitBreaker[] = []
  const on = CircuitBreaker.prototype.on
  CircuitBreaker.prototype.on = function (this: CircuitBreaker, ...args: unknown[]) {
    if (!made.includes(this)) made.push(this)
    return (on as (...a: unknown[]) => CircuitBreaker).apply(this, args)
  } as typeof on
  let b: PoolBreaker
  try {
    ({ b } = breaker(t))
  } finally {
    CircuitBreaker.prototype.on = on
  }
  const inner = made[0]!
  let snapshots = 0
  inner.status.on('snapshot', () => snapshots++)
  for (let i = 0; i < 100; i++) await succeed(b)
  t.equal(inner.stats.fires, 100, 'the window still counts every request')
  t.equal(inner.stats.latencyTimes.length, 0, 'but holds no latency for any')
  // a snapshot would come every rollingWindowMs / 10 = 1 s
  await new Promise((resolve) => setTimeout(resolve, 1200))
  t.equal(snapshots, 0)
})
