// Shadow traffic: a copy of a request sent to a mirror pool, fire and forget. The answer is read and dropped;
// the client's response never waits for it, and a mirror that hangs or fails changes nothing the client sees.
import type { Dispatcher } from 'undici'
import type { AttemptOutcome, MirrorOutcome } from '../metrics/catalogue.ts'
import type { MirrorCopy, RoutePlan } from '../release/plans.ts'
import type { Timer } from '../runtime.ts'
import { classifyError, isLocalResourceError } from '../resilience/classify.ts'
import type { ConnectionAware } from '../upstream/connections.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { Target } from '../upstream/target.ts'
import type { Exchange } from './exchange.ts'

export const MIRROR_HEADER = 'x-switchyard-mirror'

const MIRROR_TIMED_OUT = new Error('mirror timed out')
const MIRROR_READ_ENOUGH = new Error('mirror answer read far enough')

/**
 * How much of a copy's answer is read before the copy ends: its status has said all a copy can say, and the rest is
 * dropped anyway. Read whole, 64 copies of a 200 MiB answer took the gateway's CPU from every route (review r43j). An
 * answer up to this size still ends by itself and leaves its connection for the next copy: a copy cut short costs a
 * new connection to the shadow (at 64 KiB, 100 KiB answers took one each: review r43m).
 */
export const MIRROR_READ_LIMIT_BYTES = 1024 * 1024

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
  // the Host the request was routed by (an absolute-form target's authority, not its Host line), as the primary's
  headers.push('host', runtime.config.preserveHost && ex.clientHost !== undefined ? ex.clientHost : target.host, MIRROR_HEADER, '1')
  const options = {
    path: ex.upstreamPath,
    method: ex.method as Dispatcher.HttpMethod,
    headers,
    body: ex.body,
    ...(target.servername !== undefined ? { servername: target.servername } : {}),
  } as Dispatcher.DispatchOptions
  // sent once more after a stale connection only where the mirror pool's policy would resend a request after a reset
  // (attempts above 1, an idempotent method): as for its own requests, a POST that met one is not sent twice
  const retry = runtime.config.retry
  const facts = { method: ex.method, idempotencyKey: retry.idempotencyKey && hasIdempotencyKey(ex.headers), replayable: true }
  const resendable = retry.attempts > 1 && runtime.retry.retryableFailure('reset', facts)
  runtime.pool.acquire(target)
  target.enqueue()
  target.client.dispatch(options, new MirrorAttempt(runtime, target, plan, report, options, resendable))
}

/** A non-empty Idempotency-Key among the upstream headers (lower-cased names, src/proxy/headers.ts). */
function hasIdempotencyKey (headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'idempotency-key' && headers[i + 1]!.trim() !== '') return true
  return false
}

class MirrorAttempt implements Dispatcher.DispatchHandler, ConnectionAware, MirrorCopy {
  readonly #runtime: PoolRuntime
  readonly #target: Target
  readonly #plan: RoutePlan
  readonly #report: (outcome: MirrorOutcome) => void
  readonly #timer: Timer
  /** The copy as sent: its body is a Buffer (or none), so it can go again after a stale connection. */
  readonly #options: Dispatcher.DispatchOptions
  readonly #resendable: boolean
  /** When the try in flight started. */
  #startedAt = performance.now()
  #controller: Dispatcher.DispatchController | undefined
  #done = false
  /** Counted in the target's queue until undici starts or ends it. */
  #queued = true
  /** Whether the error that ends the copy is its target's failure: not once the gateway closing aborted it. */
  #abortFailsTarget = true
  #timedOut = false
  /** The final answer's status, 0 until it starts. */
  #status = 0
  /** Bytes of the answer read so far (MIRROR_READ_LIMIT_BYTES). */
  #bytesRead = 0
  /** Some answer (an informational one too) began on the try in flight. */
  #answered = false
  /** The try in flight went out on a connection that had carried an answer before (TargetConnections tells). */
  #reused = false
  /** A try met a stale kept-alive connection: the copy goes once more, on a new connection, and never again. */
  #foundStale = false
  /** Between the stale try and the one on a new connection: no try in flight, none of the target's counts held. */
  #resending = false

  constructor (runtime: PoolRuntime, target: Target, plan: RoutePlan, report: (outcome: MirrorOutcome) => void, options: Dispatcher.DispatchOptions, resendable: boolean) {
    this.#runtime = runtime
    this.#target = target
    this.#plan = plan
    this.#report = report
    this.#options = options
    this.#resendable = resendable
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
    // between the stale try (counted already) and the next, not sent yet: the copy is lost, with no attempt more
    if (this.#resending) return this.#end(undefined)
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
    this.#answered = true
    if (statusCode >= 200) this.#status = statusCode
  }

  onConnectionChosen (reused: boolean): void {
    this.#reused = reused
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytesRead += chunk.length
    if (this.#bytesRead <= MIRROR_READ_LIMIT_BYTES || this.#done) return
    this.#end(this.#runtime.isFailureStatus(this.#status) ? 'status' : 'success')
    this.#controller?.abort(MIRROR_READ_ENOUGH) // its connection goes with it: the rest of the answer is not read
  }

  onResponseEnd (): void {
    this.#end(this.#runtime.isFailureStatus(this.#status) ? 'status' : 'success')
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#leaveQueue()
    const outcome = !this.#abortFailsTarget ? 'client-abort' : this.#timedOut ? 'timeout' : isLocalResourceError(err) ? 'local-error' : classifyError(err)
    // reset before any byte of an answer on a kept-alive connection: dropped while idle (src/proxy/attempt.ts,
    // AttemptResult.stale), no failure of the target's. Its other idle connections are likely dead too (each later
    // copy would take the next one): closed
    if (outcome === 'reset' && this.#reused && !this.#answered && !this.#foundStale && !this.#done) return this.#stale()
    this.#end(outcome)
  }

  /** The try met a stale connection: counted as such, and the copy goes once more on a new connection if it may. */
  #stale (): void {
    this.#foundStale = true
    this.#target.client.dropIdle()
    const runtime = this.#runtime
    runtime.pool.release(this.#target, false)
    runtime.observer.attempt(this.#target, 'stale', performance.now() - this.#startedAt)
    this.#resending = true
    this.#controller = undefined
    // not sent again (the policy; the gateway closing, whose pools' close would wait for it): the copy is lost
    if (!this.#resendable || this.#plan.mirrorCopies.closed) return this.#end(undefined)
    // never the next dispatch from inside undici's callback for the last one (it is still unwinding that request)
    queueMicrotask(() => this.#resend())
  }

  /** The copy's one more try, on a new connection: it keeps its mirror slot and deadline (one copy, not two). */
  #resend (): void {
    if (this.#done) return
    this.#resending = false
    this.#status = 0
    this.#answered = false
    this.#reused = false
    this.#startedAt = performance.now()
    const runtime = this.#runtime
    const target = this.#target
    runtime.pool.acquire(target)
    // a saturated target: busy, as the copy's first try would be (mirror())
    if (target.queueFull) return this.#end('busy')
    runtime.observer.retry('stale')
    target.enqueue()
    this.#queued = true
    target.client.dispatch(this.#options, this, true)
  }

  #leaveQueue (): void {
    if (!this.#queued) return
    this.#queued = false
    this.#target.dequeue()
  }

  /**
   * Counted as the mirror pool's own attempts are (metrics, /history, /status), so its dashboards see the copies.
   * `undefined`: no try in flight (the last was stale, counted then): the copy was not delivered.
   */
  #end (outcome: AttemptOutcome | undefined): void {
    if (this.#done) return
    this.#done = true
    this.#resending = false
    this.#runtime.clock.clearTimeout(this.#timer)
    const serverError = this.#status >= 500
    if (outcome !== undefined) {
      const targetFailed = outcome !== 'success' && outcome !== 'client-abort' && outcome !== 'bad-request' && outcome !== 'busy' && outcome !== 'local-error'
      this.#runtime.pool.release(this.#target, targetFailed)
      this.#runtime.observer.attempt(this.#target, outcome, performance.now() - this.#startedAt, serverError)
    }
    this.#plan.mirrorEnded()
    this.#plan.mirrorCopies.delete(this)
    // an answered error is the shadow service's verdict on the copy, not a copy that could not be delivered
    this.#report(outcome === 'status' || (outcome === 'success' && serverError) ? 'error_status' : outcome === 'success' ? 'sent' : 'failed')
  }
}
