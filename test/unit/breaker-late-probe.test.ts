// Half-open, a probe whose lease ran out (it held the slot for the per-try timeout with no verdict) lets the next
// request probe, and its own verdict, when it comes, still decides. Against an upstream that hangs, each probe's
// lease ended before its failure was known and only the probe in flight counted: the breaker stayed half-open for as
// long as the upstream hung, letting one more request through to it at every lease (a review, r43a: 277 s).
import t from 'tap'
import type { CircuitBreakerConfig } from '../../src/config/schema.ts'
import { PoolBreaker, type Admission, type BreakerState } from '../../src/resilience/breaker.ts'
import { nextState } from '../helpers/breaker-state.ts'
import { ManualClock } from '../helpers/clock.ts'

const config: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, rollingWindowMs: 10_000, resetTimeoutMs: 50 }
const LEASE_MS = 500

async function halfOpen (t: { teardown: (fn: () => void) => void }): Promise<{ b: PoolBreaker; clock: ManualClock; states: BreakerState[] }> {
  const clock = new ManualClock()
  const b = new PoolBreaker(config, clock, LEASE_MS)
  t.teardown(() => b.shutdown())
  const states: BreakerState[] = []
  b.on('state', (state) => states.push(state))
  const opened = nextState(b)
  b.judge('failure', b.admit()!)
  await opened
  await nextState(b)
  return { b, clock, states }
}

/** The probe slot's next ticket, after the lease of the one before ran out. */
function leaseOut (b: PoolBreaker, clock: ManualClock): Admission {
  clock.advance(LEASE_MS)
  const next = b.admit()
  if (next === undefined) throw new Error('the slot was not given up at the lease')
  return next
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('the failure of a probe whose lease ran out reopens it, while the next probe is in flight', async (t) => {
  const { b, clock, states } = await halfOpen(t)
  const first = b.admit()!
  const second = leaseOut(b, clock)
  b.judge('failure', first)
  await settled()
  t.equal(b.state, 'open')
  t.strictSame(states, ['open', 'half-open', 'open'])
  b.judge('success', second)
  await settled()
  t.equal(b.state, 'open', 'the later probe\'s verdict, after the decision, changes nothing')
})

t.test('the success of a probe whose lease ran out closes it', async (t) => {
  const { b, clock } = await halfOpen(t)
  const first = b.admit()!
  leaseOut(b, clock)
  b.judge('success', first)
  await settled()
  t.equal(b.state, 'closed')
})

t.test('a probe of an earlier half-open period decides nothing in the next one', async (t) => {
  const { b, clock, states } = await halfOpen(t)
  const earlier = b.admit()!
  const failing = leaseOut(b, clock)
  b.judge('failure', failing)
  await settled()
  t.equal(b.state, 'open')
  t.equal(await nextState(b), 'half-open')
  b.judge('failure', earlier)
  await settled()
  t.equal(b.state, 'half-open', 'the earlier period\'s probe is not this one\'s')
  t.not(b.admit(), undefined, 'and this period\'s probe slot is still free')
  t.strictSame(states, ['open', 'half-open', 'open', 'half-open'])
})
