// Half-open, one request is the probe. If the state changes under it (an operator forces the breaker open while the
// probe is in flight), that probe no longer speaks for the pool: when the breaker next goes half-open, a fresh probe
// must be admitted at once (not after the old one's lease, up to the per-try timeout), and the old request's late
// verdict must not close the breaker. Pins src/resilience/breaker.ts #set's `this.#endProbe(this.#probe)` (line 156).
import t from 'tap'
import type { CircuitBreakerConfig } from '../../src/config/schema.ts'
import { NOT_A_PROBE, PoolBreaker } from '../../src/resilience/breaker.ts'
import { nextState } from '../helpers/breaker-state.ts'

const config: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, rollingWindowMs: 10_000, resetTimeoutMs: 50 }

t.test('a probe overtaken by a forced open neither blocks the next probe nor decides for it', async (t) => {
  const b = new PoolBreaker(config, undefined, 60_000) // a long lease: only the state change can free the slot
  t.teardown(() => b.shutdown())
  const opened = nextState(b)
  b.judge('failure', b.admit()!)
  t.equal(await opened, 'open')
  t.equal(await nextState(b), 'half-open')
  const stale = b.admit()
  t.ok(stale !== undefined && stale !== NOT_A_PROBE, 'the first probe is admitted')
  t.equal(b.admit(), undefined, 'and holds the slot')
  b.force('open')
  t.equal(b.state, 'open')
  t.equal(await nextState(b), 'half-open')
  t.equal(b.allows(), true, 'half-open again: the slot is free')
  const fresh = b.admit()
  t.ok(fresh !== undefined && fresh !== NOT_A_PROBE, 'a fresh probe is admitted at once')
  b.judge('success', stale!)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(b.state, 'half-open', "the overtaken probe's success does not close the breaker")
  b.judge('success', fresh!)
  t.equal(await nextState(b), 'closed', "the fresh probe's does")
})
