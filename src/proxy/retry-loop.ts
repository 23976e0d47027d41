// Attempts of one request within its pool: a different target each time, while policy, budget and deadline allow.
// Callbacks, not promises: this runs for every request, and each awaited attempt cost two promises, an async
// frame and their microtasks.
import type { PoolRuntime } from '../upstream/registry.ts'
import { sendAttempt, type AttemptResult } from './attempt.ts'
import type { Exchange } from './exchange.ts'

/** Called once: with the last attempt (undefined when none was made), or with an error the loop itself hit. */
export type AttemptsDone = (ex: Exchange, runtime: PoolRuntime, last: AttemptResult | undefined, error?: unknown) => void

/** Attempts until one answers the client or the policy, budget or deadline says stop; then calls `done`. */
export function tryTargets (ex: Exchange, runtime: PoolRuntime, done: AttemptsDone): void {
  new TargetLoop(ex, runtime, done).next()
}

class TargetLoop {
  readonly #ex: Exchange
  readonly #runtime: PoolRuntime
  readonly #done: AttemptsDone
  #last: AttemptResult | undefined
  /** A retry slot taken from the budget for the next attempt. */
  #slot = false
  /** The slot the attempt in flight holds, given back when it ends. */
  #budgeted = false

  constructor (ex: Exchange, runtime: PoolRuntime, done: AttemptsDone) {
    this.#ex = ex
    this.#runtime = runtime
    this.#done = done
  }

  next (): void {
    const ex = this.#ex
    const runtime = this.#runtime
    try {
      // the client left, or its body grew past the route's limit while this loop waited (forward.ts, refuseBody)
      if (ex.clientLeft() || ex.errorCode === 'body_too_large') return this.#end()
      const target = runtime.pool.pick(ex.pick, ex.tried)
      if (target === undefined) return this.#end()
      const last = this.#last
      // A connect failure never reached an upstream, so sending it elsewhere adds no load to any: it takes no
      // budget slot (HAProxy's retry-on conn-failure with redispatch). A target that dies refuses every request
      // sent to it until health checks notice, far more at once than the budget allows; attempts still bound it.
      if (ex.attempts > 0 && !this.#slot && last?.failure !== 'connect-failure') {
        if (!runtime.budget.tryAcquire()) return this.#end()
        this.#slot = true
      }
      if (ex.attempts > 0) {
        // the failure that made this a retry (a retryable status that is not a failure status counts as 'status')
        const why = last?.busy === true ? 'busy' : last?.failure
        runtime.observer.retry(why === undefined || why === 'client-abort' || why === 'bad-request' ? 'status' : why)
      }
      this.#budgeted = this.#slot
      this.#slot = false
      sendAttempt(ex, runtime, target, this.#onResult)
    } catch (err) {
      if (this.#budgeted) this.#runtime.budget.release()
      this.#budgeted = false
      this.#end(err)
    }
  }

  readonly #onResult = (result: AttemptResult): void => {
    if (this.#budgeted) this.#runtime.budget.release()
    this.#budgeted = false
    this.#last = result
    this.#slot = result.slotTaken
    if (result.responded || this.#ex.clientGone || !result.retryable) return this.#end()
    // Never the next dispatch from inside undici's callback for the last one (it is still unwinding that
    // request): after a backoff on the pool's clock, or on the next microtask.
    if (result.delayMs > 0) this.#runtime.clock.setTimeout(() => this.next(), result.delayMs)
    else queueMicrotask(() => this.next())
  }

  #end (error?: unknown): void {
    if (this.#slot) this.#runtime.budget.release()
    this.#slot = false
    this.#done(this.#ex, this.#runtime, this.#last, error)
  }
}
