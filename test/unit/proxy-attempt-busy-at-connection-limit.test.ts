// README, upstream_busy: "the per-try or overall deadline ran out while the request waited for one of the target's
// connections (all connections.maxPerTarget open and busy)": it never reached the upstream, so it is 503
// upstream_busy, counted against nobody. What decides is whether the request still waits in the target's queue when
// its timer runs out, not how many connections are open: one that undici had not started but that a connection is
// being opened for (it took the last one, or a reload's higher limit opened one for it) met a target slow to accept,
// and the timeout is the target's. (src/proxy/attempt.ts, #poolFull: `this.#target.client.waiting(this)`.)
import t from 'tap'
import { AttemptAborted } from '../../src/errors.ts'
import { exchange, runtimeFixture, startAttempt } from './proxy-fakes.ts'

const PER_TRY = 2000
const pool = { timeouts: { requestMs: 30_000 }, retry: { perTryTimeoutMs: PER_TRY }, connections: { maxPerTarget: 2 } }

/** One turn of the event loop: a timer's verdict waits for it (Attempt's #timeUp). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

for (const busy of [true, false]) {
  t.test(`${busy ? 'still queued' : 'handed to a connection being opened'} when the timer runs out before undici started the attempt: ${busy ? 'upstream_busy' : 'a timeout'}`, async (t) => {
    const fx = runtimeFixture(t, pool)
    const target = fx.targets[0]!
    const { ex } = exchange(fx)
    const { attempt, controller, results } = startAttempt(fx, ex, target)
    Object.defineProperty(target.client, 'waiting', { value: (handler: unknown) => busy && handler === attempt })
    t.equal(results[0], undefined)
    fx.clock.advance(PER_TRY)
    await nextTurn()
    t.equal(results.length, 1, 'the attempt ended')
    t.equal(controller.aborted, false, 'undici never started it')
    t.ok(results[0]!.error instanceof AttemptAborted && results[0]!.error.reason === 'attempt_timeout')
    if (busy) {
      t.equal(results[0]!.busy, true, 'it waited for a connection to come free')
      t.equal(ex.errorCode, 'upstream_busy')
      t.equal(results[0]!.failure, undefined, 'no failure of the target')
      t.same(fx.outlier, [], 'outlier detection hears nothing of it')
    } else {
      t.equal(results[0]!.busy, false)
      t.equal(results[0]!.failure, 'timeout', 'the target was slow to accept: its failure (504 upstream_timeout)')
      t.same(fx.outlier, [`failure ${target.id}`])
    }
  })
}
