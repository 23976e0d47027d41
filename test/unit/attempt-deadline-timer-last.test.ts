// An attempt whose response timer runs to the request's deadline (it was not cut at perTryTimeoutMs, because less
// than that was left) is the request's last: when its timer fires, no time is left for another try. Node fires a
// timer on the loop's cached time, up to about a millisecond before the clock reaches it, so the deadline check
// alone (`now + backoff < deadline`) let a retry go out with a fraction of a millisecond to live: it met a stale
// connection there and the request was answered 502, not 504 (review r36j). (src/proxy/attempt.ts, #toTheDeadline.)
// A per-try timer that fires leaves the rest of the deadline to a retry, as before.
import t from 'tap'
import { exchange, runtimeFixture, startAttempt } from './proxy-fakes.ts'

const PER_TRY = 2000
const pool = { timeouts: { requestMs: 30_000 }, retry: { attempts: 3, perTryTimeoutMs: PER_TRY } }
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const cases = [
  { name: 'the timer ran to the deadline and fired 0.5 ms before it by the clock: no retry', remainingMs: 500, retryable: false, outOfTime: true },
  { name: 'a per-try timer fired with the deadline far off: a retry follows', remainingMs: 10_000, retryable: true, outOfTime: false },
]
for (const c of cases) {
  t.test(c.name, async (t) => {
    const fx = runtimeFixture(t, pool)
    const { ex } = exchange(fx, { remainingMs: c.remainingMs })
    const { attempt, controller, results } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    const timer = fx.clock.dueIn()[0]!
    t.equal(timer, Math.min(PER_TRY, c.remainingMs))
    // the monotonic clock lags the timer by half a millisecond, as the loop's cached time lets it
    ex.deadline += 0.5
    fx.clock.advance(timer)
    await nextTurn()
    t.equal(results.length, 1)
    t.equal(results[0]!.failure, 'timeout')
    t.equal(results[0]!.retryable, c.retryable)
    t.equal(results[0]!.outOfTime, c.outOfTime)
  })
}
