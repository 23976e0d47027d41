// One attempt of a request at one target, as an undici dispatch handler: the upstream's response is written
// straight to the client with backpressure (pause the upstream while the client's socket is full), or drained
// and dropped when another attempt will answer instead. No intermediate streams, no AbortController.
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { ABORT_REASONS, AttemptAborted, type ErrorCode } from '../errors.ts'
import { classifyError, isLocalResourceError, type FailureKind } from '../resilience/classify.ts'
import { parseRetryAfter } from '../resilience/retry.ts'
import { monotonicMs, setVerdictTimeout, type Timer } from '../runtime.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import { upstreamReset } from '../upstream/connector.ts'
import type { ConnectionAware } from '../upstream/connections.ts'
import type { Target } from '../upstream/target.ts'
import type { Exchange } from './exchange.ts'
import { forwardedOverHttps } from './front.ts'
import { connectionTokens, responseHeaderList } from './headers.ts'
import { heldHeadsOf, type HeldHeads, type HoldsHead } from './held-heads.ts'
import { dropBodyAtClose } from './raw-response.ts'
import { RECLAIM_MIN_BYTES, reclaimSent, release, unwatchUpload, watchUpload } from './reclaim.ts'
import { forwardedReason, unforwardable } from './response-rules.ts'

/** The catalogue code for an upstream's failure: the client's error answer, or why its response was cut short. */
export function failureCode (kind: FailureKind | 'status'): ErrorCode {
  return kind === 'timeout' ? 'upstream_timeout' : kind === 'bad-response' ? 'upstream_bad_response'
    : kind === 'status' ? 'upstream_error' : 'upstream_unreachable'
}

import type { AttemptResult } from './attempt-result.ts'

export type { AttemptResult }

/** Bytes queued for a client before the upstream is paused (a slow client holds at most this, plus one read). */
const PAUSE_BYTES = 256 * 1024

export class Attempt implements Dispatcher.DispatchHandler, ConnectionAware, HoldsHead {
  readonly result: AttemptResult = { responded: false, failure: undefined, busy: false, local: false, stale: false, retryable: false, outOfTime: false, slotTaken: false, delayMs: 0, error: undefined }
  readonly #ex: Exchange
  readonly #runtime: PoolRuntime
  readonly #target: Target
  /** Whether policy lets another attempt follow this one. */
  #moreAllowed: boolean
  /** A read of a split route at a replica: the primary serves it if no replica does (forward.ts, readFallback). */
  readonly #fallbackFollows: boolean
  /** A read of a split route at a replica (the primary has not taken it over). */
  readonly #atReplica: boolean
  readonly #done: (result: AttemptResult) => void
  #controller: Dispatcher.DispatchController | undefined
  #pendingAbort: Error | undefined
  #timer: Timer | undefined
  readonly #timeoutMs: number
  /**
   * Its response timer runs to the request's deadline (it was not cut at perTryTimeoutMs): once it fires no time is
   * left for another try, even when Node fires it a fraction of a millisecond before the deadline by the clock.
   */
  readonly #toTheDeadline: boolean
  #timedOut = false
  #headersReceived = false
  /** The upstream's status, once its answer began (an ejection names the failure status that tripped it). */
  #status = 0
  /** The response's body runs to the connection's close (no Content-Length, not chunked): only a FIN ends it. */
  #toTheClose = false
  #dropping = false
  #settled = false
  #onDrain: (() => void) | undefined
  /** Runs while the client is not reading: a client that never drains must not hold the upstream connection. */
  #stallTimer: Timer | undefined
  /** Body bytes handed to the client's response: less what it still queues, what the client has taken. */
  #given = 0
  #uploadTimer: Timer | undefined
  readonly #startedAt = performance.now()
  /** Large response chunks being written to the client, by the upstream read buffer they are views of. */
  #writing: Map<ArrayBufferLike, number> | undefined
  /** Read buffers undici kept a part of when the response was paused (it reads them again on resume). */
  #kept: WeakSet<ArrayBufferLike> | undefined
  /** The read buffer undici parses now: it keeps views of its tail (a trailer field cut by the read's end) until the next read. */
  #reading: ArrayBufferLike | undefined
  /** That buffer, once its writes completed: released when undici moves on to another read (never at the end). */
  #written: ArrayBufferLike | undefined
  /** The answer's head, built and not written yet (#sendHead), with its reason phrase if one goes on. */
  #heldHead: (string | string[])[] | undefined = undefined
  #heldReason: string | undefined = undefined
  /** Where it waits (its clock's: heldHeadsOf, looked up once). */
  #heldIn: HeldHeads | undefined = undefined
  /** The head's Connection field (parsed: undici's raw head is views of a read buffer that may have been released). */
  #connection: string | string[] | undefined
  #watchingUpload = false
  /** The connection it went out on had carried an answer before (TargetConnections tells, as it hands it over). */
  #reused = false
  /** Handed to undici, not started yet: counted in the target's queue until undici starts or ends it. */
  #queued = false

  constructor (ex: Exchange, runtime: PoolRuntime, target: Target, done: (result: AttemptResult) => void) {
    this.#ex = ex
    this.#runtime = runtime
    this.#target = target
    this.#done = done
    const policy = runtime.config.retry
    this.#moreAllowed = ex.replayable && ex.countedAttempts < policy.attempts
    const remaining = Math.max(1, ex.deadline - monotonicMs(runtime.clock))
    // per-try timeout only where a retry could follow a timeout; the last (or only) attempt, and one a timeout could
    // not be retried after (a POST without an Idempotency-Key, 'timeout' not in retryOn), gets the whole remaining
    // deadline: cutting it at perTryTimeoutMs would answer 504 for a request the upstream may still complete.
    // A read of a split route has the primary after its replicas: a hung replica must leave it the rest of the
    // deadline, so no replica attempt is the last one.
    this.#atReplica = ex.readFallback !== undefined
    this.#fallbackFollows = this.#atReplica && ex.replayable
    const retriedAfterTimeout = this.#moreAllowed && runtime.retry.retryableFailure('timeout', ex)
    this.#timeoutMs = retriedAfterTimeout || this.#fallbackFollows ? Math.min(policy.perTryTimeoutMs, remaining) : remaining
    this.#toTheDeadline = this.#timeoutMs === remaining
    // A streamed upload may take longer than any response deadline: as Envoy does, the clock for the
    // response starts once the request has been sent (onRequestSent). Other requests start it now.
    if (!isStream(ex.body)) this.#startTimer()
    else {
      // ...but a streamed upload that goes silent for clientIdleMs has stalled: the client's, or the upstream's
      this.#uploadTimer = runtime.clock.setTimeout(() => this.#uploadStalled(), runtime.config.timeouts.clientIdleMs)
      this.#watchingUpload = true
      watchUpload()
    }
  }

  onBodySent (chunk?: Buffer): void {
    this.#uploadTimer?.refresh()
    if (this.#watchingUpload && chunk !== undefined) reclaimSent(this.#ex.body!, chunk)
  }

  /**
   * No body byte went upstream for clientIdleMs. undici stops reading the client's body while the upstream's
   * connection takes no more, so bytes the client sent then wait unread in the request stream: the upstream stopped
   * reading, a timeout of its own (504, counted against it). Nothing waiting: the client stopped sending (408).
   */
  #uploadStalled (): void {
    const body = this.#ex.body as Readable
    if (body.readableLength > 0 || body.readableFlowing === false) {
      this.#timedOut = true
      this.abort(AttemptAborted.signal('attempt_timeout'))
    } else {
      this.abort(AttemptAborted.signal('upload_stalled'))
    }
  }

  #startTimer (): void {
    // response headers already waiting in the socket when a stalled loop fires the timer still count
    this.#timer = setVerdictTimeout(this.#runtime.clock, () => this.#timeUp(), this.#timeoutMs)
  }

  #timeUp (): void {
    // a response read only to be dropped for a retry stays under the timer: a stalled error body must not hold it
    if (this.#settled || (this.#headersReceived && !this.#dropping)) return
    this.#timedOut = true
    this.abort(AttemptAborted.signal('attempt_timeout'))
  }

  onRequestSent (): void {
    this.#runtime.clock.clearTimeout(this.#uploadTimer)
    // only while still waiting for the response (an upstream may answer before it has read the whole body)
    if (this.#timer === undefined && !this.#settled && !this.#headersReceived) this.#startTimer()
  }

  /**
   * Ends the attempt (client gone, timeout). Before undici has started the request (it may be queued for a
   * connection) the attempt ends here and now; undici's request is aborted the moment it starts.
   */
  abort (reason: Error = AttemptAborted.signal('client_gone')): void {
    if (this.#settled) return
    if (this.#controller !== undefined) {
      this.#controller.abort(reason)
      return
    }
    this.#pendingAbort = reason
    this.#fail(reason)
  }

  /** sendAttempt hands the request to the target's connection pool. */
  dispatched (): void {
    this.#queued = true
    this.#target.enqueue()
  }

  /** The target's queue for a connection is full: answered as a busy target, never handed to undici. */
  queueFull (): void {
    this.#busy()
  }

  #leaveQueue (): void {
    if (!this.#queued) return
    this.#queued = false
    this.#target.dequeue()
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#leaveQueue()
    this.#controller = controller
    if (this.#pendingAbort !== undefined) controller.abort(this.#pendingAbort)
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (this.#settled || statusCode < 200) return // informational answers are not passed on; undici waits for the final one
    // aborting ends the attempt as a bad response (502) and closes the connection, which may hold more of it
    const ex = this.#ex
    const refused = unforwardable(statusCode, headers, ex.method)
    if (refused !== undefined) return controller.abort(refused)
    const te = headers['transfer-encoding']
    this.#headersReceived = true
    this.#status = statusCode
    this.#connection = headers.connection
    this.#toTheClose = te === undefined && headers['content-length'] === undefined && statusCode !== 204 && statusCode !== 304 && ex.method !== 'HEAD'
    const runtime = this.#runtime
    const result = this.result
    if (runtime.isFailureStatus(statusCode)) result.failure = 'status'
    if (runtime.retry.retryableStatus(statusCode, ex) &&
      this.#mayRetryAfter(statusCode === 503 ? parseRetryAfter(headers['retry-after'], this.#runtime.clock.now()) : undefined) &&
      runtime.budget.tryAcquire()) {
      // the next attempt will answer: read this response to its end (keeps the connection) and drop it,
      // still under the per-try timer, so a slow error body cannot hold the retry back
      result.retryable = true
      result.slotTaken = true
      this.#dropping = true
      return
    }
    if (result.failure === 'status' && this.#fallbackFollows) {
      // the replica failed (failureStatuses) and no other replica is tried: the primary answers instead of this
      // error (the attempt ends unanswered, so forward.ts falls back); read to its end and dropped like a retried one
      this.#dropping = true
      return
    }
    this.#runtime.clock.clearTimeout(this.#timer)
    result.responded = true
    // a replica answered a read of a split route: reads are on the replicas (again), said once per change
    if (this.#atReplica && result.failure === undefined) ex.plan?.replicaAnswered()
    // answered before the client's body is all here (an auth check, a size limit): nothing will read the rest for
    // this request, so the connection closes after the answer, the rest read and dropped meanwhile (RFC 9112 §9.3)
    if (ex.hasBody && !ex.req.complete) closeAfterAnswer(ex)
    // read-your-writes: a successful write through a split route pins this client's reads to the primary for a while
    const sticky = ex.write && statusCode < 400 ? ex.plan?.reads?.sticky : undefined
    // a 204 carries no Content-Length (RFC 9110 §8.6; nginx drops it too), nor the body some upstreams send with one
    const out = responseHeaderList(headers, 'x-request-id', sticky === undefined ? undefined : 'x-read-after-write', statusCode === 204)
    out.push('x-request-id', ex.requestId)
    // shutting down: this connection closes after this answer (the header is hop-by-hop: it was just stripped)
    if (ex.gate.closing) out.push('connection', 'close')
    if (sticky !== undefined) {
      // one token, as a cookie for browsers and as a header for other clients to send back; Secure when the write
      // came in over HTTPS (a trusted TLS-terminating proxy's X-Forwarded-Proto)
      const token = sticky.token()
      out.push('set-cookie', sticky.setCookieHeader(token, forwardedOverHttps(ex.headers)), 'x-read-after-write', token)
    }
    // Held for the first body byte or the end, when Node would send it anyway (writeHead only stores a head), or until
    // the head has waited 50-100 ms alone (src/proxy/held-heads.ts: SSE, long-poll): a body that fails on its first
    // read (a chunk llhttp refuses, a reset) is then answered with its error, not an empty reply (#fail)
    this.#heldHead = out
    this.#heldReason = forwardedReason(statusCode, statusMessage)
    this.#heldIn = heldHeadsOf(runtime.clock)
    this.#heldIn.hold(this)
    // a half-open breaker's probe is judged by its head, not its first body byte: an SSE or long-poll answer sends
    // its head and waits, and the pool would refuse everyone else meanwhile
    ex.answerStarted?.(result)
  }

  /** The first body byte is slow to come (SSE, long-poll): the head goes out alone, as nginx and HAProxy pass it on. */
  sendHeldHead (): void {
    if (this.#heldHead === undefined || this.#settled) return
    this.#sendHead(this.#heldHead)
    this.#ex.res.flushHeaders()
  }

  /** Writes the held head: the answer begins to go to the client. */
  #sendHead (out: (string | string[])[]): void {
    this.#heldHead = undefined
    this.#heldIn!.release(this)
    const res = this.#ex.res
    const reason = this.#heldReason
    if (reason !== undefined) res.writeHead(this.#status, reason, out)
    else res.writeHead(this.#status, out)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#dropping || this.#settled) return
    if (this.#heldHead !== undefined) this.#sendHead(this.#heldHead)
    const res = this.#ex.res
    if (chunk.buffer !== this.#reading) {
      // undici has finished with the previous read: its buffer can go now if its writes have completed
      if (this.#written !== undefined) release(this.#written)
      this.#written = undefined
      this.#reading = chunk.buffer
    }
    this.#given += chunk.length
    const written = chunk.length >= RECLAIM_MIN_BYTES ? res.write(chunk, this.#reclaimAfterWrite(chunk.buffer)) : res.write(chunk)
    // A 64 KiB read is as large as the socket's high-water mark, so write() says "full" for nearly every
    // chunk of a large body; pausing the upstream only past PAUSE_BYTES queued spares a pause, a re-read of
    // the rest of the buffer and a resume per chunk while the client keeps up.
    const full = !written && res.writableLength > PAUSE_BYTES
    // paused, undici keeps the rest of this read buffer to parse on resume: it must never be freed
    if (full || controller.paused) (this.#kept ??= new WeakSet()).add(chunk.buffer)
    // undici may hand over the rest of a parsed buffer after pause(): arm the drain wait only once
    if (full && !controller.paused) {
      controller.pause()
      this.#onDrain ??= () => {
        this.#runtime.clock.clearTimeout(this.#stallTimer)
        this.#controller?.resume()
      }
      res.once('drain', this.#onDrain)
      this.#watchStall()
    }
  }

  /**
   * Paused for a client that takes its answer slower than the upstream sends it: cut (client_stalled) once it has
   * taken nothing for clientIdleMs. One still reading, however slowly, is given another clientIdleMs each time, as
   * nginx's send_timeout does: timed to the whole queue's drain, a steady 32 KiB/s reader was cut.
   */
  #watchStall (): void {
    const res = this.#ex.res
    const { clock, config } = this.#runtime
    let taken = this.#given - res.writableLength
    const check = (): void => {
      const now = this.#given - res.writableLength
      if (now <= taken) return this.abort(AttemptAborted.signal('client_stalled'))
      taken = now
      this.#stallTimer = clock.setTimeout(check, config.timeouts.clientIdleMs)
    }
    this.#stallTimer = clock.setTimeout(check, config.timeouts.clientIdleMs)
  }

  /**
   * The callback of a large chunk's write to the client: once the last write from an upstream read buffer has
   * completed and undici has moved on to its next read, undici is done with it too, so its memory goes back at once
   * instead of waiting for a collection. Not before: undici keeps views of a read's tail until the next one (a
   * trailer field cut by the read's end, joined to its rest then), nor while it keeps a part of it paused.
   */
  #reclaimAfterWrite (buffer: ArrayBufferLike): (err?: Error | null) => void {
    const writing = this.#writing ??= new Map()
    writing.set(buffer, (writing.get(buffer) ?? 0) + 1)
    return (err) => {
      const left = writing.get(buffer)! - 1
      if (left > 0) return void writing.set(buffer, left)
      writing.delete(buffer)
      if (err != null || this.#kept?.has(buffer) === true) return
      // undici may still hold views of the rest of the read it is parsing (a trailer field cut by its end)
      if (buffer === this.#reading) this.#written = buffer
      else release(buffer)
    }
  }

  onResponseEnd (controller?: Dispatcher.DispatchController, trailers?: IncomingHttpHeaders): void {
    if (this.#settled) return
    // undici ends a body that runs to the close normally on a reset too: a reset is no clean end (connector.ts)
    const reset = this.#toTheClose && !this.#dropping ? upstreamReset() : undefined
    if (reset !== undefined) return this.onResponseError(undefined, reset)
    if (!this.#dropping) {
      if (this.#heldHead !== undefined) this.#sendHead(this.#heldHead)
      const res = this.#ex.res
      // a chunked answer's trailer fields go on where the client's answer is chunked too (only chunks carry them: an
      // HTTP/1.0 client's answer runs to the close, and they are dropped); looked at only for a chunked answer
      if (res.chunkedEncoding && trailers !== undefined) passTrailers(res, trailers, this.#connection)
      res.end()
      // the stall timer stops with this attempt: a tail the client is not taking gets a watch of its own
      if (res.writableLength > 0) this.#ex.watchUnsentTail(this.#runtime.clock, this.#runtime.config.timeouts.clientIdleMs)
    }
    this.#settle()
  }

  onConnectionChosen (reused: boolean): void {
    this.#reused = reused
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.#leaveQueue()
    this.#fail(err)
  }

  #fail (err: Error): void {
    if (this.#settled) return
    this.#runtime.clock.clearTimeout(this.#timer)
    const ex = this.#ex
    const result = this.result
    result.error = err
    // An answer whose head never left (held for its first body byte) has not begun: the client gets the error answer
    // (forward.ts), not an empty reply. Not retried on another target: the upstream took the request and answered (a
    // split read still falls back to the primary, as a read that failed on a replica does)
    const headHeld = this.#heldHead !== undefined
    if (headHeld) {
      this.#heldHead = undefined
      this.#heldIn!.release(this)
      result.responded = false
    }
    const reason = err instanceof AttemptAborted ? err.reason : undefined
    // Queued behind the target's busy connections until a timer ran out: the upstream never saw this request
    if (!ex.clientGone && this.#controller === undefined && (reason === 'attempt_timeout' || reason === 'upload_stalled') && this.#poolFull()) return this.#busy()
    const clientSide = reason !== undefined && reason !== 'attempt_timeout'
    if (ex.clientGone || clientSide) {
      // the client left, stopped reading or stopped sending; the upstream did nothing wrong
      result.failure = undefined
      const code = reason !== undefined && clientSide ? ABORT_REASONS[reason] : undefined
      // An answer already begun cannot be finished (a stalled reader; an upload that stalled or grew too large
      // after the upstream began answering): cut it short. Otherwise the error answer says why.
      if (code !== undefined && (code === 'client_stalled' || result.responded)) ex.cutShort(code)
      else if (code !== undefined) ex.errorCode = code
    } else if (!this.#timedOut && !result.responded && isLocalResourceError(err)) {
      result.local = true
      ex.errorCode = 'overloaded'
    } else {
      const kind = this.#timedOut ? 'timeout' : classifyError(err)
      if (kind === 'bad-request') ex.errorCode = 'bad_request'
      else if (kind === 'reset' && this.#reused && !result.responded && !this.#headersReceived && !ex.foundStaleAt(this.#target)) {
        // a kept-alive connection dropped while idle (AttemptResult.stale): no failure of the target's; its other
        // idle connections are likely dead too, and closed. An extra try (nginx's) follows at once, on a new one.
        result.stale = true
        ;(ex.stale ??= []).push(ex.tried.length - 1)
        this.#target.client.dropIdle()
        // (retries off, attempts 1: none, as the operator asked; but a split read, which the primary would serve
        // instead, is sent again anyway: the replica on a new connection, not the primary, whose load replicas spare)
        const attempts = this.#runtime.config.retry.attempts
        this.#moreAllowed = ex.replayable && (attempts > 1 || ex.readFallback !== undefined) && ex.countedAttempts < attempts
      } else result.failure = kind
      // headers are out: all that is left is to cut the response short (and say why in the access log)
      if (result.responded) ex.cutShort(failureCode(kind))
      else if (!result.retryable && !headHeld) {
        // A refused connection never read the body (undici reads a stream once connected), so it can still go,
        // whole, to another target, held whole or streamed alike, whatever the policy says of replaying it.
        // (Undici reads a body only after onRequestStart; the proxy may have read a prefix of it itself.)
        const unsent = kind === 'connect-failure' && !ex.replayable && ex.body !== null && this.#controller === undefined
        if (unsent) this.#moreAllowed = ex.countedAttempts < this.#runtime.config.retry.attempts
        const facts = unsent ? { method: ex.method, idempotencyKey: ex.idempotencyKey, replayable: true } : ex
        // the try that went back to a target after its stale connection could not connect (a pod that died resets
        // its connections, then refuses): the request goes elsewhere, as it would have without going back, whatever
        // retryOn says of connect failures
        const returned = kind === 'connect-failure' && ex.stale !== undefined && ex.stale.at(-1) === ex.tried.length - 2 && ex.tried.at(-2)!.id === this.#target.id
        result.retryable = (returned || this.#runtime.retry.retryableFailure(kind, facts)) && this.#mayRetryAfter()
      }
    }
    this.#settle()
  }

  /**
   * The target had no connection for this request: the upstream never saw it (nor a byte of its body), so neither
   * the breaker nor outlier detection hears of it. Another target may have a free connection: the retry policy
   * treats it as a timeout. The request's error code is its answer's (upstream_busy when no try got further,
   * forward.ts #sendAttemptError): a retry another target answers is a request served.
   */
  #busy (): void {
    const result = this.result
    result.busy = true
    result.retryable = this.#runtime.retry.retryableFailure('timeout', this.#ex) && this.#mayRetryAfter()
    this.#settle()
  }

  #settle (): void {
    this.#settled = true
    // ended while still queued for a connection: out of the target's queue (one a connection being opened already
    // holds, undici starts and aborts when that connection is up)
    if (this.#queued && this.#target.client.withdraw(this)) this.#leaveQueue()
    if (this.#watchingUpload) {
      this.#watchingUpload = false
      unwatchUpload()
    }
    const clock = this.#runtime.clock
    clock.clearTimeout(this.#timer)
    clock.clearTimeout(this.#stallTimer)
    clock.clearTimeout(this.#uploadTimer)
    if (this.#onDrain !== undefined) this.#ex.res.off('drain', this.#onDrain)
    const result = this.result
    const runtime = this.#runtime
    runtime.pool.release(this.#target, result.failure !== undefined)
    const outcome = result.failure ?? (result.stale ? 'stale' : result.busy ? 'busy' : result.local ? 'local-error' : this.#ex.clientGone || result.error instanceof AttemptAborted ? 'client-abort' : this.#ex.errorCode === 'bad_request' ? 'bad-request' : 'success')
    runtime.observer.attempt(this.#target, outcome, performance.now() - this.#startedAt, result.responded && this.#ex.res.statusCode >= 500)
    if (result.failure !== undefined) this.#runtime.outlier.failure(this.#target, result.failure, result.failure === 'status' ? this.#status : undefined)
    else if (!this.#ex.clientGone && !result.busy && !result.local && !result.stale) this.#runtime.outlier.success(this.#target)
    this.#done(result)
  }

  /**
   * Whether this attempt still waits for one of the target's connections to come free (queued behind busy ones, or
   * behind the connections being opened). Otherwise a connection is being opened for it (it took the last one, or a
   * reload's higher limit or a retired connection's place opened one for it): a timeout then is the target's
   * slowness to accept, a failure.
   */
  #poolFull (): boolean {
    return this.#target.client.waiting(this)
  }

  /** Whether another attempt may follow this one (policy, deadline), with its backoff. */
  #mayRetryAfter (retryAfterSeconds?: number): boolean {
    if (!this.#moreAllowed) return false
    const result = this.result
    // no backoff after a stale connection: nothing is wrong with the upstream, the retry opens a new connection
    result.delayMs = result.stale ? 0 : this.#runtime.retry.backoffMs(this.#ex.countedAttempts, retryAfterSeconds)
    const inTime = !(this.#timedOut && this.#toTheDeadline) && monotonicMs(this.#runtime.clock) + result.delayMs < this.#ex.deadline
    result.outOfTime = !inTime
    return inTime
  }
}

/** Sends one attempt to `target`; calls `done` once it has ended (answered, dropped for a retry, or failed). */
export function sendAttempt (ex: Exchange, runtime: PoolRuntime, target: Target, done: (result: AttemptResult) => void): void {
  ex.tried.push(target)
  runtime.pool.acquire(target)
  const headers = withTargetHost(ex, runtime.config.preserveHost ? undefined : target.host)
  const attempt = new Attempt(ex, runtime, target, done)
  ex.attempt = attempt
  const options: Dispatcher.DispatchOptions = {
    path: ex.upstreamPath,
    method: ex.method as Dispatcher.HttpMethod,
    headers,
    body: ex.body,
    bodyTimeout: runtime.config.timeouts.idleMs,
    // (undici closes the connection after every HEAD: kept. An upstream that wrongly sends a body with its HEAD
    // answer a moment later would otherwise have those bytes read as the answer to the next request on it, another
    // client's: a 502 at best, a forged answer at worst.)
  }
  // TLS: verify the target's name (or the pool's tls.servername), never the client's Host header, which undici
  // would otherwise use for SNI when the Host is preserved
  if (target.servername !== undefined) (options as { servername?: string }).servername = target.servername
  if (target.queueFull) return attempt.queueFull()
  attempt.dispatched()
  // after a stale kept-alive connection, only a new one to that target (AttemptResult.stale); another target's
  // connections were not found dead (a pod that died resets its own, and its requests go elsewhere on kept ones)
  target.client.dispatch(options, attempt, ex.stale !== undefined && ex.foundStaleAt(target))
}

/**
 * The request's headers for this attempt: with the target's Host as their last pair when the pool does not
 * preserve the client's, set in place (undici reads the list while dispatch() runs and keeps none of it), so no
 * attempt copies the list.
 */
function withTargetHost (ex: Exchange, host: string | undefined): string[] {
  const headers = ex.headers
  if (host === undefined) {
    // a fallback to a pool that preserves the Host: drop the previous pool's target host
    if (ex.targetHostAt >= 0) headers.length = ex.targetHostAt
    ex.targetHostAt = -1
  } else if (ex.targetHostAt < 0) {
    ex.targetHostAt = headers.length
    headers.push('host', host)
  } else {
    headers[ex.targetHostAt + 1] = host
  }
  return headers
}

/**
 * Trailer fields that never go on: hop-by-hop ones (RFC 9110 §7.6.1), and those a recipient must not take from a
 * trailer section (§6.5.1): framing, routing, authentication; and the gateway's own request id.
 */
const NOT_TRAILERS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer',
  'content-length', 'host', 'authorization', 'proxy-authorization', 'www-authenticate', 'proxy-authenticate',
  'proxy-authentication-info', 'x-request-id'])

/**
 * Adds the upstream's trailer fields to the client's answer, without those that must not go on and those its head's
 * Connection named (hop-by-hop for the whole message). Allocates only when there are trailer fields.
 */
function passTrailers (res: Exchange['res'], trailers: IncomingHttpHeaders, connection: string | string[] | undefined): void {
  let out: Record<string, string | string[]> | undefined
  let named: Set<string> | undefined
  for (const name in trailers) {
    const value = trailers[name]
    if (value === undefined || NOT_TRAILERS.has(name)) continue
    named ??= connectionTokens(connection)
    if (named.has(name)) continue
    ;(out ??= {})[name] = value
  }
  if (out !== undefined) res.addTrailers(out)
}

function closeAfterAnswer (ex: Exchange): void {
  ex.res.shouldKeepAlive = false
  dropBodyAtClose(ex.socket, ex.req)
}

function isStream (body: Exchange['body']): boolean {
  return body !== null && !Buffer.isBuffer(body)
}
