// Belongs in test/unit/. The edges of an attempt's "may another try follow" check (src/proxy/attempt.ts
// #mayRetryAfter, #toTheDeadline), played on the manual clock with no sockets:
// - a per-try timer that ends 1 ms before the deadline is a per-try timer, not one run to the deadline: the 1 ms left
//   still takes a retry (no backoff with random 0), as any per-try timer leaves the rest of the deadline to a retry;
// - a stale connection found with the clock exactly at the deadline leaves no time for its try on a new connection
//   (`now + 0 < deadline` is false): not retryable, outOfTime (504 upstream_timeout in forward.ts); 1 ms before it, a
//   try follows;
// - a stale connection's retry has no backoff, whatever the jitter would draw (nothing is wrong with the upstream).
import t, { type Test } from 'tap'
import { codedError, exchange, runtimeFixture, startAttempt } from './proxy-fakes.ts'

const PER_TRY = 2000
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('a per-try timer 1 ms short of the deadline leaves that 1 ms to a retry', async (t) => {
  const fx = runtimeFixture(t, { timeouts: { requestMs: 30_000 }, retry: { attempts: 3, perTryTimeoutMs: PER_TRY } })
  const { ex } = exchange(fx, { remainingMs: PER_TRY + 1 })
  const { attempt, controller, results } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  t.same(fx.clock.dueIn(), [PER_TRY], 'the per-try timer, not the deadline')
  fx.clock.advance(PER_TRY)
  await nextTurn()
  t.equal(results.length, 1)
  t.equal(results[0]!.failure, 'timeout')
  t.equal(results[0]!.delayMs, 0)
  t.equal(results[0]!.retryable, true, '1 ms is left: a retry follows')
  t.equal(results[0]!.outOfTime, false)
})

/** A kept-alive connection (reused) reset before any answer: a stale one. */
function staleAt (t: Test, untilDeadlineMs: number, random?: () => number) {
  const fx = runtimeFixture(t, { timeouts: { requestMs: 30_000 }, retry: { attempts: 3, perTryTimeoutMs: PER_TRY, backoff: { baseMs: 100, maxMs: 1000 } } }, random)
  const { ex } = exchange(fx, { remainingMs: 10_000 })
  const { attempt, controller, results } = startAttempt(fx, ex)
  attempt.onConnectionChosen(true)
  attempt.onRequestStart(controller)
  // time moves without firing the attempt's timer (a stalled loop, or a clock read late)
  fx.clock.set(ex.deadline - untilDeadlineMs)
  attempt.onResponseError(controller, codedError('ECONNRESET'))
  return results
}

t.test('a stale connection found exactly at the deadline: no try follows, out of time', async (t) => {
  const results = staleAt(t, 0)
  t.equal(results.length, 1)
  t.equal(results[0]!.stale, true)
  t.equal(results[0]!.retryable, false)
  t.equal(results[0]!.outOfTime, true)
})

t.test('a stale connection found 1 ms before the deadline: its try on a new connection follows', async (t) => {
  const results = staleAt(t, 1)
  t.equal(results.length, 1)
  t.equal(results[0]!.stale, true)
  t.equal(results[0]!.retryable, true)
  t.equal(results[0]!.outOfTime, false)
})

t.test('a stale connection is tried again at once, whatever the jitter would draw', async (t) => {
  const results = staleAt(t, 5000, () => 0.99)
  t.equal(results.length, 1)
  t.equal(results[0]!.stale, true)
  t.equal(results[0]!.retryable, true)
  t.equal(results[0]!.delayMs, 0, 'no backoff')
})
