// One attempt of a request at one target, as an undici dispatch handler: the upstream's response is written
// straight to the client with backpressure (pause the upstream while the client's socket is full), or drained
// and dropped when another attempt will answer instead. No intermediate streams, no AbortController.
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import { classifyError, type FailureKind } from '../resilience/classify.ts'
import { parseRetryAfter } from '../resilience/retry.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { Target } from '../upstream/target.ts'
import type { Exchange } from './exchange.ts'
import { stripResponseHopByHop } from './headers.ts'

export interface AttemptResult {
  /** Response headers went to the client: this request is answered, nothing more may be tried. */
  responded: boolean
  /** What the upstream did wrong, if anything (counts for outlier detection and the breaker). */
  failure: FailureKind | 'status' | undefined
  /** Another attempt follows (policy, deadline and, for dropped responses, budget agreed). */
  retryable: boolean
  /** A retry slot was taken from the budget for the next attempt. */
  slotTaken: boolean
  /** Backoff before the next attempt. */
  delayMs: number
  error: unknown
}

class AttemptTimeout extends Error {
  readonly code = 'SWITCHYARD_ATTEMPT_TIMEOUT'
}
class ClientGone extends Error {
  readonly code = 'SWITCHYARD_CLIENT_GONE'
}

export class Attempt implements Dispatcher.DispatchHandler {
  readonly result: AttemptResult = { responded: false, failure: undefined, retryable: false, slotTaken: false, delayMs: 0, error: undefined }
  readonly #ex: Exchange
  readonly #runtime: PoolRuntime
  readonly #target: Target
  /** Whether policy lets another attempt follow this one. */
  readonly #moreAllowed: boolean
  readonly #resolve: (result: AttemptResult) => void
  #controller: Dispatcher.DispatchController | undefined
  #pendingAbort: Error | undefined
  #timer: NodeJS.Timeout | undefined
  #timedOut = false
  #dropping = false
  #onDrain: (() => void) | undefined

  constructor (ex: Exchange, runtime: PoolRuntime, target: Target, resolve: (result: AttemptResult) => void) {
    this.#ex = ex
    this.#runtime = runtime
    this.#target = target
    this.#resolve = resolve
    const policy = runtime.config.retry
    this.#moreAllowed = ex.replayable && ex.attempts < policy.attempts
    const remaining = Math.max(1, ex.deadline - Date.now())
    // per-try timeout only where a retry could follow; the last (or only) attempt gets the whole remaining deadline
    const timeout = this.#moreAllowed ? Math.min(policy.perTryTimeoutMs, remaining) : remaining
    this.#timer = setTimeout(() => {
      this.#timedOut = true
      this.abort(new AttemptTimeout('no response headers in time'))
    }, timeout)
  }

  /** Ends the attempt (client gone, timeout); safe before the request has started. */
  abort (reason: Error = new ClientGone('client went away')): void {
    if (this.#controller !== undefined) this.#controller.abort(reason)
    else this.#pendingAbort = reason
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#pendingAbort !== undefined) controller.abort(this.#pendingAbort)
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return // informational (100 Continue): undici goes on to the final response
    clearTimeout(this.#timer)
    const ex = this.#ex
    const runtime = this.#runtime
    const result = this.result
    if (runtime.isFailureStatus(statusCode)) result.failure = 'status'
    if (runtime.retry.retryableStatus(statusCode, ex) &&
      this.#mayRetryAfter(statusCode === 503 ? parseRetryAfter(headers['retry-after']) : undefined) &&
      runtime.budget.tryAcquire()) {
      // the next attempt will answer: read this response to its end (keeps the connection) and drop it
      result.retryable = true
      result.slotTaken = true
      this.#dropping = true
      return
    }
    result.responded = true
    const out = stripResponseHopByHop(headers)
    out['x-request-id'] = ex.requestId
    ex.res.writeHead(statusCode, out)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#dropping) return
    const res = this.#ex.res
    if (!res.write(chunk)) {
      controller.pause()
      this.#onDrain ??= () => this.#controller?.resume()
      res.once('drain', this.#onDrain)
    }
  }

  onResponseEnd (): void {
    if (!this.#dropping) this.#ex.res.end()
    this.#settle()
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    clearTimeout(this.#timer)
    const ex = this.#ex
    const result = this.result
    result.error = err
    if (ex.clientGone || err instanceof ClientGone) {
      result.failure = undefined // the client left; the upstream did nothing wrong
    } else {
      const kind = this.#timedOut ? 'timeout' : classifyError(err)
      if (kind === 'bad-request') ex.errorCode = 'bad_request'
      else result.failure = kind
      if (result.responded) ex.res.destroy() // headers are out: all that is left is to cut the response short
      else if (!result.retryable) result.retryable = this.#runtime.retry.retryableFailure(kind, ex) && this.#mayRetryAfter()
    }
    this.#settle()
  }

  #settle (): void {
    clearTimeout(this.#timer)
    if (this.#onDrain !== undefined) this.#ex.res.off('drain', this.#onDrain)
    this.#target.inFlight--
    const result = this.result
    if (result.failure !== undefined) this.#runtime.outlier.failure(this.#target)
    else if (!this.#ex.clientGone) this.#runtime.outlier.success(this.#target)
    this.#resolve(result)
  }

  /** Whether another attempt may follow this one (policy, deadline), with its backoff. */
  #mayRetryAfter (retryAfterSeconds?: number): boolean {
    if (!this.#moreAllowed) return false
    this.result.delayMs = this.#runtime.retry.backoffMs(this.#ex.attempts, retryAfterSeconds)
    return Date.now() + this.result.delayMs < this.#ex.deadline
  }
}

/** Sends one attempt to `target`; resolves when it has ended (answered, dropped for a retry, or failed). */
export function sendAttempt (ex: Exchange, runtime: PoolRuntime, target: Target): Promise<AttemptResult> {
  ex.tried.push(target)
  target.inFlight++
  const headers = runtime.config.preserveHost ? ex.headers : [...ex.headers, 'host', target.host]
  return new Promise((resolve) => {
    const attempt = new Attempt(ex, runtime, target, resolve)
    ex.attempt = attempt
    target.client.dispatch({
      path: ex.upstreamPath,
      method: ex.method as Dispatcher.HttpMethod,
      headers,
      body: ex.body,
      bodyTimeout: runtime.config.timeouts.idleMs,
    }, attempt)
  })
}
