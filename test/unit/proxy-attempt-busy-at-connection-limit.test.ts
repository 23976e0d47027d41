// README, upstream_busy: "the per-try or overall deadline ran out while the request waited for one of the target's
// connections (all connections.maxPerTarget open and busy)": it never reached the upstream, so it is 503
// upstream_busy, counted against nobody. "All open" is exactly maxPerTarget open, not more: an attempt that undici
// had not started when its timer ran out, with maxPerTarget of the target's connections open at that moment, is busy,
// not a timeout of the target's; with one fewer open, undici was connecting for it, and the timeout is the target's.
// (In a running gateway an attempt that was not queued at dispatch meets this only when the target's limit or its
// open connections changed meanwhile, e.g. a reload; the connection count is set here directly.)
// (src/proxy/attempt.ts, #poolFull: `connected >= this.#runtime.config.connections.maxPerTarget`.)
import t from 'tap'
import { AttemptAborted } from '../../src/errors.ts'
import { exchange, runtimeFixture, startAttempt } from './proxy-fakes.ts'

const PER_TRY = 2000
const MAX = 2
const pool = { timeouts: { requestMs: 30_000 }, retry: { perTryTimeoutMs: PER_TRY }, connections: { maxPerTarget: MAX } }

/** One turn of the event loop: a timer's verdict waits for it (Attempt's #timeUp). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

for (const [open, busy] of [[MAX, true], [MAX - 1, false]] as const) {
  t.test(`${open} of ${MAX} connections open when the timer runs out before undici started the attempt: ${busy ? 'upstream_busy' : 'a timeout'}`, async (t) => {
    const fx = runtimeFixture(t, pool)
    const target = fx.targets[0]!
    Object.defineProperty(target.client, 'connected', { get: () => open })
    const { ex } = exchange(fx)
    const { controller, results } = startAttempt(fx, ex, target)
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
