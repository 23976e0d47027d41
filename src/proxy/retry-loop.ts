// Attempts of one request within its pool: a different target each time, while policy, budget and deadline allow.
// Callbacks, not promises: this runs for every request, and each awaited attempt cost two promises, an async
// frame and their microtasks.
import type { RetryBudget } from '../resilience/budget.ts'
import type { Timer } from '../runtime.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import { sendAttempt, type AttemptResult } from './attempt.ts'
import type { Exchange } from './exchange.ts'
import { availableAgain, sameTargetsIn } from './same-targets.ts'

/** Called once: with the last attempt (undefined when none was made), or with an error the loop itself hit. */
export type AttemptsDone = (ex: Exchange, runtime: PoolRuntime, last: AttemptResult | undefined, error?: unknown) => void

/** The runtime a pool's name has now (undefined: a reload removed the pool). */
export type RunningPool = (name: string) => PoolRuntime | undefined

/**
 * Attempts until one answers the client or the policy, budget or deadline says stop; then calls `done` with
 * `runtime`. With `running`, each pick is made in the runtime the pool's name has at that moment.
 */
export function tryTargets (ex: Exchange, runtime: PoolRuntime, done: AttemptsDone, running?: RunningPool): void {
  new TargetLoop(ex, runtime, done, running).next()
}

class TargetLoop {
  readonly #ex: Exchange
  /** The runtime the request was admitted to: its breaker and budget count the request until `done`. */
  readonly #admitted: PoolRuntime
  /** Where attempts go: the admitted runtime, or the one a reload replaced it with (#follow). */
  #runtime: PoolRuntime
  readonly #running: RunningPool | undefined
  readonly #done: AttemptsDone
  #last: AttemptResult | undefined
  /** A retry slot taken for the next attempt, and the budget it came from. */
  #slot: RetryBudget | undefined
  /** The budget whose slot the attempt in flight holds, given back when it ends. */
  #budgeted: RetryBudget | undefined
  /** The retry's backoff timer while it runs (the loop is then the exchange's `attempt`, so a leaving client ends it). */
  #backoff: Timer | undefined

  constructor (ex: Exchange, runtime: PoolRuntime, done: AttemptsDone, running: RunningPool | undefined) {
    this.#ex = ex
    this.#admitted = runtime
    this.#runtime = runtime
    this.#running = running
    this.#done = done
  }

  next (): void {
    const ex = this.#ex
    this.#backoff = undefined
    try {
      // the client left, or its body grew past the route's limit while this loop waited (forward.ts, refuseBody)
      if (ex.clientLeft() || ex.errorCode === 'body_too_large') return this.#end()
      const runtime = this.#follow()
      const last = this.#last
      // after a stale connection, the same target on a new one while it may take requests: it did nothing wrong, and
      // another pick would move a hash key off its home, or a request to the standby with its primaries healthy
      const target = (last?.stale === true ? availableAgain(runtime.pool, ex.tried[ex.tried.length - 1]!) : undefined) ??
        runtime.pool.pick(ex.pick, ex.tried.length === 0 ? ex.tried : sameTargetsIn(runtime.pool, ex.failedOn()))
      if (target === undefined) return this.#end()
      // A connect failure never reached an upstream, so sending it elsewhere adds no load to any: it takes no
      // budget slot (HAProxy's retry-on conn-failure with redispatch). A target that dies refuses every request
      // sent to it until health checks notice, far more at once than the budget allows; attempts still bound it.
      // Nor does a request whose kept-alive connection the upstream had dropped (stale): it goes out on a new one.
      if (ex.attempts > 0 && this.#slot === undefined && last?.failure !== 'connect-failure' && last?.stale !== true) {
        if (!runtime.budget.tryAcquire()) return this.#end()
        this.#slot = runtime.budget
      }
      if (ex.attempts > 0) {
        // the failure that made this a retry (a retryable status that is not a failure status counts as 'status')
        const why = last?.busy === true ? 'busy' : last?.stale === true ? 'stale' : last?.failure
        runtime.observer.retry(why === undefined || why === 'client-abort' || why === 'bad-request' ? 'status' : why)
      }
      this.#budgeted = this.#slot
      this.#slot = undefined
      sendAttempt(ex, runtime, target, this.#onResult)
    } catch (err) {
      this.#budgeted?.release()
      this.#budgeted = undefined
      this.#end(err)
    }
  }

  /**
   * A reload that rebuilt the pool retired the request's runtime, whose targets are copies: the admin API disables
   * and drains the running pool's, and a target the reload removed is still in it. A pick is a new choice, so it
   * is made in the runtime serving the pool's name now, with its settings. A pool the reload removed has no
   * successor, so its requests finish on what they started with (test/ops/reload.test.ts). The breaker admission
   * and the request's count stay with the admitted runtime (`done`); a slot goes back to the budget it came from.
   */
  #follow (): PoolRuntime {
    const current = this.#runtime
    const running = this.#running?.(current.name) ?? current
    if (running === current) return current
    this.#runtime = running
    // its preserveHost may differ from the replaced one's
    this.#ex.rehost(running.config.preserveHost ? this.#ex.clientHost : undefined)
    return running
  }

  readonly #onResult = (result: AttemptResult): void => {
    this.#budgeted?.release()
    this.#budgeted = undefined
    this.#last = result
    // a slot the attempt took came from its own runtime's budget (#runtime changes only in next())
    this.#slot = result.slotTaken ? this.#runtime.budget : undefined
    if (result.responded || this.#ex.clientGone || !result.retryable) return this.#end()
    // Never the next dispatch from inside undici's callback for the last one (it is still unwinding that
    // request): after a backoff on the pool's clock, or on the next microtask.
    if (result.delayMs > 0) this.#waitBackoff(result.delayMs)
    else queueMicrotask(() => this.next())
  }

  /**
   * Until the retry goes out, the loop stands in for the attempt in flight: a client that leaves (forward.ts #finish)
   * or a body that grows past the route's limit (refuseBody) aborts it, and the request ends then, its retry slot
   * and its place among the pool's active requests given back at once, not when the timer would have fired (Envoy
   * cancels its retry timer on a downstream reset).
   */
  #waitBackoff (delayMs: number): void {
    this.#backoff = this.#runtime.clock.setTimeout(() => this.next(), delayMs)
    this.#ex.attempt = this
  }

  /** The request ends during the backoff: no retry follows (a no-op at any other time). */
  abort (): void {
    const timer = this.#backoff
    if (timer === undefined) return
    this.#backoff = undefined
    this.#runtime.clock.clearTimeout(timer)
    this.#end()
  }

  #end (error?: unknown): void {
    this.#slot?.release()
    this.#slot = undefined
    this.#done(this.#ex, this.#admitted, this.#last, error)
  }
}
