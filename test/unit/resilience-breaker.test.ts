import { once } from 'node:events'
import CircuitBreaker from 'opossum'
import t from 'tap'
import { clockAt } from '../helpers/clock.ts'
import type { CircuitBreakerConfig } from '../../src/config/schema.ts'
import { isBreakerRejection, PoolBreaker, UpstreamFailure, type BreakerState } from '../../src/resilience/breaker.ts'

const tiny: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 2, rollingWindowMs: 10_000, resetTimeoutMs: 50 }

function breaker (t: { teardown: (fn: () => void) => void }, config: Partial<CircuitBreakerConfig> = {}, now?: () => number): { b: PoolBreaker; events: [BreakerState, BreakerState][] } {
  const b = new PoolBreaker({ ...tiny, ...config }, now && clockAt(now))
  t.teardown(() => b.shutdown())
  const events: [BreakerState, BreakerState][] = []
  b.on('state', (state, previous) => events.push([state, previous]))
  return { b, events }
}

/** A run's outcome as a value, as forward.ts reads it: an UpstreamFailure's result; any other rejection thrown again. */
function resultOfFailure<T> (err: unknown): T {
  if (err instanceof UpstreamFailure) return err.result as T
  throw err
}

// a failure rejects with the UpstreamFailure itself; forward.ts answers from the result it carries
const fail = <T>(b: PoolBreaker, result: T): Promise<T> => b.run(() => Promise.reject(new UpstreamFailure(result))).then(undefined, resultOfFailure<T>)
const succeed = <T>(b: PoolBreaker, result: T): Promise<T> => b.run(() => Promise.resolve(result))

/**
 * Resolves when the breaker next changes state (opossum's reset timer is real: 50 ms here).
 * The guard timer stays ref'd: opossum unrefs its own, and the process must not exit while we wait.
 */
async function nextState (b: PoolBreaker): Promise<unknown[]> {
  let guard: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      once(b, 'state'),
      new Promise<never>((_, reject) => { guard = setTimeout(() => reject(new Error('no state change within 2 s')), 2000) }),
    ])
  } finally {
    clearTimeout(guard)
  }
}

t.test('closed: attempts run and their results come back', async (t) => {
  const { b, events } = breaker(t)
  t.equal(b.state, 'closed')
  t.equal(b.allows(), true)
  t.equal(await succeed(b, 'ok'), 'ok')
  t.equal(b.retryAfterSeconds(), undefined, 'no Retry-After while closed')
  t.strictSame(events, [])
})

t.test('an UpstreamFailure resolves with its result and counts as a failure', async (t) => {
  const { b, events } = breaker(t)
  t.equal(await fail(b, { status: 502 }).then((r) => r.status), 502, 'first failure: the attempt result comes back')
  t.equal(b.state, 'closed', 'below volumeThreshold')
  t.strictSame(await fail(b, { status: 503 }), { status: 503 })
  t.equal(b.state, 'open', 'volumeThreshold reached at 100% errors')
  t.equal(b.allows(), false)
  t.strictSame(events, [['open', 'closed']])
})

t.test('open: attempts are refused with EOPENBREAKER, and no further events', async (t) => {
  const { b, events } = breaker(t)
  await fail(b, 1)
  await fail(b, 2)
  let ran = false
  const err = await b.run(async () => { ran = true }).then(() => undefined, (e: unknown) => e)
  t.equal(ran, false, 'the attempt never ran')
  t.equal(isBreakerRejection(err), true)
  t.equal((err as { code?: string }).code, 'EOPENBREAKER')
  await b.run(async () => 1).catch(() => undefined)
  t.strictSame(events, [['open', 'closed']], 'one event per change')
})

t.test('the error threshold is a strict percentage', async (t) => {
  const { b } = breaker(t)
  await succeed(b, 1)
  await fail(b, 2)
  t.equal(b.state, 'closed', '1 of 2 = 50% is not above 50%')
  await fail(b, 3)
  t.equal(b.state, 'open', '2 of 3 is')
})

t.test('errors that are not UpstreamFailure do not count', async (t) => {
  const { b, events } = breaker(t)
  for (let i = 0; i < 10; i++) {
    const abort = Object.assign(new Error('client went away'), { code: 'ECLIENTABORT' })
    const err = await b.run(() => Promise.reject(abort)).then(() => undefined, (e: unknown) => e)
    t.equal(err, abort, 'the error itself is rethrown')
  }
  t.equal(b.state, 'closed')
  t.strictSame(events, [])
})

t.test('half-open after resetTimeoutMs; a good probe closes it', async (t) => {
  const { b, events } = breaker(t)
  await fail(b, 1)
  await fail(b, 2)
  const [state] = await nextState(b)
  t.equal(state, 'half-open')
  t.equal(b.state, 'half-open')
  t.equal(b.allows(), true, 'the probe slot is free')
  let release!: () => void
  const probe = b.run(() => new Promise<string>((resolve) => { release = () => resolve('probe ok') }))
  t.equal(b.allows(), false, 'only one probe at a time')
  const second = await b.run(async () => 'x').then(() => undefined, (e: unknown) => e)
  t.equal(isBreakerRejection(second), true, 'a second request during the probe is refused')
  release()
  t.equal(await probe, 'probe ok')
  t.equal(b.state, 'closed')
  t.equal(b.allows(), true)
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
})

t.test('half-open: a failed probe opens it again', async (t) => {
  const { b, events } = breaker(t)
  await fail(b, 1)
  await fail(b, 2)
  await nextState(b)
  t.equal(await fail(b, 'probe failed'), 'probe failed')
  t.equal(b.state, 'open')
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['open', 'half-open']])
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
  t.equal(await succeed(b, 'after'), 'after')
})

t.test('a disabled breaker passes everything through', async (t) => {
  const { b, events } = breaker(t, { enabled: false })
  t.equal(await succeed(b, 'ok'), 'ok')
  const boom = new Error('boom')
  t.equal(await b.run(() => Promise.reject(boom)).then(() => undefined, (e: unknown) => e), boom, 'other errors rethrown')
  b.force('open')
  t.equal(b.state, 'closed')
  t.equal(b.allows(), true)
  t.equal(b.retryAfterSeconds(), undefined)
  t.strictSame(events, [])
})

t.test('a disabled breaker rejects with the UpstreamFailure like an enabled one', async (t) => {
  // forward.ts answers from the result an UpstreamFailure carries, whether the pool's breaker is on or off
  for (const enabled of [false, true]) {
    const { b } = breaker(t, { enabled, volumeThreshold: 100 })
    const failure = new UpstreamFailure({ status: 502 })
    const err = await b.run(() => Promise.reject(failure)).then(() => undefined, (e: unknown) => e)
    t.equal(err, failure, `enabled: ${enabled}`)
    t.equal(b.state, 'closed')
  }
})

t.test('isBreakerRejection', async (t) => {
  t.equal(isBreakerRejection(Object.assign(new Error('x'), { code: 'EOPENBREAKER' })), true)
  for (const e of [new Error('x'), Object.assign(new Error('x'), { code: 'ECONNRESET' }), null, undefined, 'EOPENBREAKER']) {
    t.equal(isBreakerRejection(e), false, String(e))
  }
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
  for (let i = 0; i < 100; i++) await succeed(b, i)
  t.equal(inner.stats.fires, 100, 'the window still counts every request')
  t.equal(inner.stats.latencyTimes.length, 0, 'but holds no latency for any')
  // a snapshot would come every rollingWindowMs / 10 = 1 s
  await new Promise((resolve) => setTimeout(resolve, 1200))
  t.equal(snapshots, 0)
})
