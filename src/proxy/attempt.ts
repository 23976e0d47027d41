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
class ClientStalled extends Error {
  readonly code = 'SWITCHYARD_CLIENT_STALLED'
}
class UploadStalled extends Error {
  readonly code = 'SWITCHYARD_UPLOAD_STALLED'
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
  readonly #timeoutMs: number
  #timedOut = false
  #headersReceived = false
  #dropping = false
  #settled = false
  #onDrain: (() => void) | undefined
  /** Runs while the client is not reading: a client that never drains must not hold the upstream connection. */
  #stallTimer: NodeJS.Timeout | undefined
  #uploadTimer: NodeJS.Timeout | undefined

  constructor (ex: Exchange, runtime: PoolRuntime, target: Target, resolve: (result: AttemptResult) => void) {
    this.#ex = ex
    this.#runtime = runtime
    this.#target = target
    this.#resolve = resolve
    const policy = runtime.config.retry
    this.#moreAllowed = ex.replayable && ex.attempts < policy.attempts
    const remaining = Math.max(1, ex.deadline - Date.now())
    // per-try timeout only where a retry could follow; the last (or only) attempt gets the whole remaining deadline
    this.#timeoutMs = this.#moreAllowed ? Math.min(policy.perTryTimeoutMs, remaining) : remaining
    // A streamed upload may take longer than any response deadline: as Envoy does, the clock for the
    // response starts once the request has been sent (onRequestSent). Other requests start it now.
    if (!isStream(ex.body)) this.#startTimer()
    // ...but a streamed upload that goes silent for idleMs is the client's stall, not an upstream failure
    else this.#uploadTimer = setTimeout(() => this.abort(new UploadStalled('request body stalled')), runtime.config.timeouts.idleMs)
  }

  onBodySent (): void {
    this.#uploadTimer?.refresh()
  }

  #startTimer (): void {
    this.#timer = setTimeout(() => {
      this.#timedOut = true
      this.abort(new AttemptTimeout('no response headers in time'))
    }, this.#timeoutMs)
  }

  onRequestSent (): void {
    clearTimeout(this.#uploadTimer)
    // only while still waiting for the response (an upstream may answer before it has read the whole body)
    if (this.#timer === undefined && !this.#settled && !this.#headersReceived) this.#startTimer()
  }

  /**
   * Ends the attempt (client gone, timeout). Before undici has started the request (it may be queued for a
   * connection) the attempt ends here and now; undici's request is aborted the moment it starts.
   */
  abort (reason: Error = new ClientGone('client went away')): void {
    if (this.#settled) return
    if (this.#controller !== undefined) {
      this.#controller.abort(reason)
      return
    }
    this.#pendingAbort = reason
    this.onResponseError(undefined, reason)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#pendingAbort !== undefined) controller.abort(this.#pendingAbort)
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.#settled || statusCode < 200) return // informational answers are not passed on; undici waits for the final one
    this.#headersReceived = true
    const ex = this.#ex
    const runtime = this.#runtime
    const result = this.result
    if (runtime.isFailureStatus(statusCode)) result.failure = 'status'
    if (runtime.retry.retryableStatus(statusCode, ex) &&
      this.#mayRetryAfter(statusCode === 503 ? parseRetryAfter(headers['retry-after']) : undefined) &&
      runtime.budget.tryAcquire()) {
      // the next attempt will answer: read this response to its end (keeps the connection) and drop it,
      // still under the per-try timer, so a slow error body cannot hold the retry back
      result.retryable = true
      result.slotTaken = true
      this.#dropping = true
      return
    }
    clearTimeout(this.#timer)
    result.responded = true
    const out = stripResponseHopByHop(headers)
    out['x-request-id'] = ex.requestId
    ex.res.writeHead(statusCode, out)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#dropping || this.#settled) return
    const res = this.#ex.res
    // undici may hand over the rest of a parsed buffer after pause(): arm the drain wait only once
    if (!res.write(chunk) && !controller.paused) {
      controller.pause()
      this.#onDrain ??= () => {
        clearTimeout(this.#stallTimer)
        this.#controller?.resume()
      }
      res.once('drain', this.#onDrain)
      this.#stallTimer = setTimeout(() => this.abort(new ClientStalled('client stopped reading')), this.#runtime.config.timeouts.idleMs)
    }
  }

  onResponseEnd (): void {
    if (this.#settled) return
    if (!this.#dropping) this.#ex.res.end()
    this.#settle()
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#settled) return
    clearTimeout(this.#timer)
    const ex = this.#ex
    const result = this.result
    result.error = err
    if (ex.clientGone || err instanceof ClientGone || err instanceof ClientStalled || err instanceof UploadStalled) {
      result.failure = undefined // the client left, stopped reading or stopped sending; the upstream did nothing wrong
      if (err instanceof ClientStalled) ex.cutShort('client_stalled')
      else if (err instanceof UploadStalled) ex.errorCode = 'request_timeout'
    } else {
      const kind = this.#timedOut ? 'timeout' : classifyError(err)
      if (kind === 'bad-request') ex.errorCode = 'bad_request'
      else result.failure = kind
      // headers are out: all that is left is to cut the response short (and say why in the access log)
      if (result.responded) ex.cutShort(kind === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable')
      else if (!result.retryable) result.retryable = this.#runtime.retry.retryableFailure(kind, ex) && this.#mayRetryAfter()
    }
    this.#settle()
  }

  #settle (): void {
    this.#settled = true
    clearTimeout(this.#timer)
    clearTimeout(this.#stallTimer)
    clearTimeout(this.#uploadTimer)
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
      // TLS: verify the target's name (or the pool's tls.servername), never the client's Host header,
      // which undici would otherwise use for SNI when the Host is preserved
      ...(target.servername !== undefined ? { servername: target.servername } : {}),
    } as Dispatcher.DispatchOptions, attempt)
  })
}

function isStream (body: Exchange['body']): boolean {
  return body !== null && !Buffer.isBuffer(body)
}
