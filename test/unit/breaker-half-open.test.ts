// Retry-After and admission around the breaker's half-open state: while open, clients are told to come back
// in at least a second; once half-open, Retry-After is 1 and exactly one probe is let through.
import t from 'tap'
import { clockAt } from '../helpers/clock.ts'
import type { CircuitBreakerConfig } from '../../src/config/schema.ts'
import { NOT_A_PROBE, PoolBreaker, type BreakerState } from '../../src/resilience/breaker.ts'
import { nextState } from '../helpers/breaker-state.ts'

const config: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, rollingWindowMs: 10_000, resetTimeoutMs: 50 }

function breaker (t: { teardown: (fn: () => void) => void }, now?: () => number): { b: PoolBreaker; events: [BreakerState, BreakerState][] } {
  const b = new PoolBreaker(config, now && clockAt(now))
  t.teardown(() => b.shutdown())
  const events: [BreakerState, BreakerState][] = []
  b.on('state', (state, previous) => events.push([state, previous]))
  return { b, events }
}

/** One request the upstream failed, admitted and judged at once (opossum's state moves a turn later). */
async function fail (b: PoolBreaker): Promise<void> {
  const admission = b.admit()
  if (admission === undefined) throw new Error('refused')
  b.judge('failure', admission)
  await new Promise((resolve) => setImmediate(resolve))
}

t.test('open: Retry-After is at least one second', async (t) => {
  const { b, events } = breaker(t)
  const firstChange = nextState(b) // subscribed before it opens
  await fail(b)
  t.equal(b.state, 'open', 'one failure at volumeThreshold 1 opens it')
  t.equal(await firstChange, 'open', "the 'state' event reports it")
  t.equal(b.allows(), false)
  const after = b.retryAfterSeconds()
  t.ok(after !== undefined && after >= 1, `Retry-After ${after} ≥ 1 even though resetTimeoutMs is 50`)
  t.ok(Number.isInteger(after), 'whole seconds')
  t.strictSame(events, [['open', 'closed']])
})

t.test('open with an injected clock: Retry-After counts down in whole seconds, never below 1', async (t) => {
  const clock = { now: 1_000_000 }
  const b = new PoolBreaker({ ...config, resetTimeoutMs: 2500 }, clockAt(() => clock.now))
  t.teardown(() => b.shutdown())
  await fail(b)
  t.equal(b.state, 'open')
  t.equal(b.retryAfterSeconds(), 3, '2.5 s rounds up')
  clock.now += 1600
  t.equal(b.retryAfterSeconds(), 1)
  clock.now += 5000
  t.equal(b.retryAfterSeconds(), 1, 'overdue: still 1, never 0 or negative')
})

t.test('half-open: Retry-After is 1 and exactly one probe is allowed', async (t) => {
  const { b, events } = breaker(t)
  await fail(b)
  t.equal(b.state, 'open')
  t.equal(await nextState(b), 'half-open', 'after resetTimeoutMs')
  t.equal(b.state, 'half-open')
  t.equal(b.retryAfterSeconds(), 1)
  t.equal(b.allows(), true, 'the probe slot is free')

  const probe = b.admit()
  t.ok(probe !== undefined && probe !== NOT_A_PROBE, 'admitted as the probe')
  t.equal(b.allows(), false, 'the probe slot is taken while the probe is in flight')
  t.equal(b.retryAfterSeconds(), 1, 'still 1 while the probe decides')
  t.equal(b.admit(), undefined, 'a second request is not let through')

  b.judge('success', probe!)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(b.state, 'closed', 'a successful probe closes the breaker')
  t.equal(b.allows(), true)
  t.equal(b.retryAfterSeconds(), undefined, 'no Retry-After once closed')
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
})

t.test('half-open: a failed probe opens it again with Retry-After ≥ 1', async (t) => {
  const { b, events } = breaker(t)
  await fail(b)
  t.equal(await nextState(b), 'half-open')
  t.equal(b.allows(), true)
  await fail(b)
  t.equal(b.state, 'open', 'the failed probe reopened it')
  t.equal(b.allows(), false)
  const after = b.retryAfterSeconds()
  t.ok(after !== undefined && after >= 1)
  t.equal(await nextState(b), 'half-open', 'and it half-opens again after resetTimeoutMs')
  t.equal(b.retryAfterSeconds(), 1)
  t.equal(b.allows(), true)
  t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['open', 'half-open'], ['half-open', 'open']])
})
