// A breaker that closes starts from empty counts, as Hystrix's and resilience4j's do, whether a half-open probe
// succeeded or an operator closed it. opossum's close() keeps its rolling window, so the failures that opened the
// breaker were still counted after the recovery: with resetTimeoutMs shorter than rollingWindowMs the first failure
// after it reopened the breaker at once (flapping on one error). The breaker's own clock is manual; opossum's reset
// timer is real (resetTimeoutMs 50 here).
import t from 'tap'
import type { Test } from 'tap'
import type { CircuitBreakerConfig } from '../../src/config/schema.ts'
import { PoolBreaker, type Verdict } from '../../src/resilience/breaker.ts'
import { ManualClock } from '../helpers/clock.ts'
import { nextState } from '../helpers/breaker-state.ts'

const config: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 3, rollingWindowMs: 10_000, resetTimeoutMs: 50 }

function breaker (t: Test): PoolBreaker {
  const b = new PoolBreaker(config, new ManualClock())
  t.teardown(() => b.shutdown())
  return b
}

/** opossum hears a verdict through a promise: its state moves a turn later. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** One request admitted and judged at once (none when the breaker refuses it). */
async function judged (b: PoolBreaker, verdict: Verdict): Promise<void> {
  const admission = b.admit()
  if (admission === undefined) return
  b.judge(verdict, admission)
  await settled()
}

async function openIt (t: Test, b: PoolBreaker): Promise<void> {
  for (let i = 0; i < config.volumeThreshold; i++) await judged(b, 'failure')
  t.equal(b.state, 'open', `${config.volumeThreshold} failures open it`)
}

/** After a close: one failure is below volumeThreshold and stays closed; volumeThreshold of them open it again. */
async function countsFromEmpty (t: Test, b: PoolBreaker): Promise<void> {
  await judged(b, 'failure')
  t.equal(b.state, 'closed', 'one failure after the close does not reopen it')
  await judged(b, 'failure')
  t.equal(b.state, 'closed')
  await judged(b, 'failure')
  t.equal(b.state, 'open', 'volumeThreshold new failures do')
}

t.test('closed by a successful half-open probe: the failures that opened it no longer count', async (t) => {
  const b = breaker(t)
  await openIt(t, b)
  await nextState(b)
  t.equal(b.state, 'half-open')
  await judged(b, 'success')
  t.equal(b.state, 'closed', 'the probe closed it')
  await countsFromEmpty(t, b)
})

t.test('closed by an operator: the failures that opened it no longer count', async (t) => {
  const b = breaker(t)
  await openIt(t, b)
  b.force('closed')
  t.equal(b.state, 'closed')
  await countsFromEmpty(t, b)
})

t.test('closed by an operator while already closed: the failures counted so far are forgotten', async (t) => {
  const b = breaker(t)
  await judged(b, 'failure')
  await judged(b, 'failure')
  t.equal(b.state, 'closed', 'below volumeThreshold')
  b.force('closed')
  await countsFromEmpty(t, b)
})
