// Shadow traffic: a copy of a request sent to a mirror pool, fire and forget. The answer is read and dropped;
// the client's response never waits for it, and a mirror that hangs or fails changes nothing the client sees.
import type { Dispatcher } from 'undici'
import type { AttemptOutcome, MirrorOutcome } from '../metrics/catalogue.ts'
import type { MirrorCopy, RoutePlan } from '../release/plans.ts'
import type { Timer } from '../runtime.ts'
import { classifyError, isLocalResourceError } from '../resilience/classify.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { Target } from '../upstream/target.ts'
import type { Exchange } from './exchange.ts'

export const MIRROR_HEADER = 'x-switchyard-mirror'

const MIRROR_TIMED_OUT = new Error('mirror timed out')

/** Sends the copy if the plan's share, its concurrency limit and the body allow; reports what happened. */
export function mirror (ex: Exchange, plan: RoutePlan, runtime: PoolRuntime | undefined, report: (outcome: MirrorOutcome) => void): void {
  // a body is copied only when it was buffered anyway; a streamed one can be read once
  if (ex.body !== null && !Buffer.isBuffer(ex.body)) return report('skipped_body')
  // the gateway is closing: its pools' close would wait for a copy started now
  if (plan.mirrorCopies.closed) return report('failed')
  // the mirror pool's breaker open: its copies would load an upstream its own traffic is kept off. Half-open, they go
  // again (copies never judge the breaker, so a mirror pool with no traffic of its own would stay half-open for good)
  if (runtime !== undefined && runtime.breaker.state === 'open') return report('skipped_circuit')
  if (!plan.tryMirror()) return report('skipped_concurrency')
  const target = runtime?.pool.pick({ hashKey: undefined })
  if (runtime === undefined || target === undefined) {
    plan.mirrorEnded()
    return report('failed')
  }
  // a saturated mirror pool: undici would queue the copy, and keep it queued past its deadline. A busy attempt of
  // the target's, as a request's would be
  if (target.queueFull) {
    plan.mirrorEnded()
    runtime.pool.acquire(target)
    runtime.pool.release(target, false)
    runtime.observer.attempt(target, 'busy', 0)
    return report('failed')
  }
  const headers: string[] = []
  for (let i = 0; i < ex.headers.length; i += 2) if (ex.headers[i] !== 'host') headers.push(ex.headers[i]!, ex.headers[i + 1]!)
  headers.push('host', runtime.config.preserveHost && ex.req.headers.host !== undefined ? ex.req.headers.host : target.host, MIRROR_HEADER, '1')
  runtime.pool.acquire(target)
  target.enqueue()
  target.client.dispatch({
    path: ex.upstreamPath,
    method: ex.method as Dispatcher.HttpMethod,
    headers,
    body: ex.body,
    ...(target.servername !== undefined ? { servername: target.servername } : {}),
  } as Dispatcher.DispatchOptions, new MirrorAttempt(runtime, target, plan, report))
}

class MirrorAttempt implements Dispatcher.DispatchHandler, MirrorCopy {
  readonly #runtime: PoolRuntime
  readonly #target: Target
  readonly #plan: RoutePlan
  readonly #report: (outcome: MirrorOutcome) => void
  readonly #timer: Timer
  readonly #startedAt = performance.now()
  #controller: Dispatcher.DispatchController | undefined
  #done = false
  /** Counted in the target's queue until undici starts or ends it. */
  #queued = true
  /** Whether the error that ends the copy is its target's failure: not once the gateway closing aborted it. */
  #abortFailsTarget = true
  #timedOut = false
  /** The final answer's status, 0 until it starts. */
  #status = 0

  constructor (runtime: PoolRuntime, target: Target, plan: RoutePlan, report: (outcome: MirrorOutcome) => void) {
    this.#runtime = runtime
    this.#target = target
    this.#plan = plan
    this.#report = report
    // a mirror that hangs is abandoned after the mirror pool's own deadline
    this.#timer = runtime.clock.setTimeout(() => this.abort(MIRROR_TIMED_OUT, true), runtime.config.timeouts.requestMs)
    this.#timer.unref()
    plan.mirrorCopies.add(this)
  }

  /**
   * Ends the copy. One not started yet ends now: still queued for a connection (the target never saw it: no failure
   * of its, busy as a request's would be), it leaves the queue; held by a connection being opened, it is aborted the
   * moment undici starts it.
   */
  abort (reason: Error, targetFailed: boolean): void {
    if (this.#done) return
    if (this.#controller !== undefined) {
      this.#abortFailsTarget = targetFailed
      this.#timedOut = reason === MIRROR_TIMED_OUT
      this.#controller.abort(reason)
    } else {
      // still waiting for a connection: busy; one being opened for it: the target is slow to accept, its timeout
      // (as a request's, src/proxy/attempt.ts #poolFull)
      const waiting = this.#target.client.withdraw(this)
      if (waiting) this.#leaveQueue()
      this.#end(!targetFailed ? 'client-abort' : waiting ? 'busy' : 'timeout')
    }
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#leaveQueue()
    this.#controller = controller
    if (this.#done) controller.abort(MIRROR_TIMED_OUT)
  }

  // informational answers (103 Early Hints) are not the answer
  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number): void {
    if (statusCode >= 200) this.#status = statusCode
  }

  onResponseData (): void {}
  onResponseEnd (): void {
    this.#end(this.#runtime.isFailureStatus(this.#status) ? 'status' : 'success')
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#leaveQueue()
    this.#end(!this.#abortFailsTarget ? 'client-abort' : this.#timedOut ? 'timeout' : isLocalResourceError(err) ? 'local-error' : classifyError(err))
  }

  #leaveQueue (): void {
    if (!this.#queued) return
    this.#queued = false
    this.#target.dequeue()
  }

  /** Counted as the mirror pool's own attempts are (metrics, /history, /status), so its dashboards see the copies. */
  #end (outcome: AttemptOutcome): void {
    if (this.#done) return
    this.#done = true
    this.#runtime.clock.clearTimeout(this.#timer)
    const targetFailed = outcome !== 'success' && outcome !== 'client-abort' && outcome !== 'bad-request' && outcome !== 'busy' && outcome !== 'local-error'
    const serverError = this.#status >= 500
    this.#runtime.pool.release(this.#target, targetFailed)
    this.#runtime.observer.attempt(this.#target, outcome, performance.now() - this.#startedAt, serverError)
    this.#plan.mirrorEnded()
    this.#plan.mirrorCopies.delete(this)
    // an answered error is the shadow service's verdict on the copy, not a copy that could not be delivered
    this.#report(outcome === 'status' || (outcome === 'success' && serverError) ? 'error_status' : outcome === 'success' ? 'sent' : 'failed')
  }
}
