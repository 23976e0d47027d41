// One WebSocket upgrade, as an undici dispatch handler (like Attempt for plain requests): a 101 becomes a
// byte-for-byte tunnel; a target that declines the upgrade has its answer passed to the client. A target that
// cannot be connected to is followed by another, as the pool's retry policy allows (the handshake never left), picked
// in the pool running under its name then (a reload may have replaced it), as a request's retry is (retry-loop.ts).
import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { PickContext } from '../balancer/types.ts'
import { classifyError, errorCodeOf, isLocalResourceError, type FailureKind } from '../resilience/classify.ts'
import type { RetryRequestFacts } from '../resilience/retry.ts'
import { AttemptAborted, type ErrorCode } from '../errors.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import { monotonicMs, setVerdictTimeout, type Clock, type Timer } from '../runtime.ts'
import type { ConnectionAware } from '../upstream/connections.ts'
import type { Target } from '../upstream/target.ts'
import { failureCode } from './attempt.ts'
import { stripResponseHopByHop } from './headers.ts'
import type { TunnelSet } from './tunnels.ts'
import { endAndLinger, httpDate, upstreamHead } from './raw-response.ts'
import { forwardedReason, unforwardable } from './response-rules.ts'
import type { RunningPool } from './retry-loop.ts'
import { availableAgain, sameTargetIn, sameTargetsIn } from './same-targets.ts'

export interface UpgradeOutcome {
  /** The status the client saw (101 for a tunnel that ran). */
  status: number
  /** A refusal for the caller to render: the target could not be reached. */
  refusal?: ErrorCode
  /** The error code of a refusal's cause, for the access log (e.g. EMFILE: the gateway out of file descriptors). */
  upstreamError?: string
  /** The target answered without switching protocols. */
  declined?: boolean
  /** The tunnel was closed by the gateway after timeouts.tunnelIdleMs without a byte either way. */
  idleTimeout?: boolean
  /** The client left (reset, closed or half-closed) before the target's answer reached it: nothing was sent. */
  clientGone?: boolean
  /** The client sent more than MAX_EARLY_BYTES before its 101 and was cut (a WebSocket client sends none). */
  earlyBytesOverLimit?: boolean
  /** A declined answer the upstream cut short (reset, timeout): the client's connection was cut too. */
  cutShortBy?: ErrorCode
  /**
   * The upstream failed it (unreachable, no answer within timeouts.requestMs, a bad or cut-short answer, a status in
   * failureStatuses): the breaker counts it, as a request's failure. Outlier detection has heard already.
   */
  failed?: boolean
  /** Handshakes sent (more than one after connect failures the retry policy let go to another target). */
  attempts: number
  /** The target of the last attempt. */
  target: Target
  /** Every target a handshake went to, in order, when there was more than one attempt. */
  targets?: readonly Target[]
  /** Milliseconds from the first dispatch to the target's answer (the 101 for a tunnel), or to the failure. */
  handshakeMs: number
}

/** The handshake as undici sends it to each target tried. */
export interface UpgradeRequest {
  path: string
  method: Dispatcher.HttpMethod
  /** Name, value pairs; with the target's Host at `hostAt` when the pool does not preserve the client's. */
  headers: string[]
  /** Where the target's Host name is in `headers` (-1: none, the client's Host is kept). */
  hostAt: number
  /** The client's Host, sent instead when a retry goes to a replacing pool that preserves it. */
  clientHost: string | undefined
  upgrade: string
  /** The client's Expect has 100-continue: its 101 follows a 100 (RFC 9110 §7.8). */
  expectsContinue: boolean
  /** The balancer's key, for a retry's pick. */
  pick: PickContext
}

/** A handshake has no body (GET, checked in upgrade.ts): it can always be sent again whole. */
const HANDSHAKE_FACTS: RetryRequestFacts = { method: 'GET', idempotencyKey: false, replayable: true }

/** The interim answer a 101 follows when the client expected 100-continue. */
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n'

/** Bytes a client may send after its handshake before the answer (it should send none before the 101). */
export const MAX_EARLY_BYTES = 64 * 1024

/**
 * How long an open tunnel stays half-closed and silent: once one side has ended (its FIN passed on), the tunnel closes
 * after this long without a byte either way (a WebSocket's close frame in answer, the rest of a download, resets it),
 * then both sockets are closed. Without it a peer that keeps its end open (a server waiting for a close frame that
 * never comes) holds the tunnel, its target's in-flight count and a drain, until timeouts.tunnelIdleMs. HAProxy
 * bounds the same state with `timeout client-fin` / `server-fin`, which count inactivity too; 5 s is a close
 * handshake's round trip many times over, and short next to a drain's wait.
 */
export const TUNNEL_FIN_GRACE_MS = 5_000

/** What an attempt tells its caller: the target's answer once written to the client, the outcome once over. */
export interface UpgradeReport {
  /** The target's answer (101, or the status it declined with) has been written to the client. */
  answered: (status: number) => void
  /** Once, when the upgrade is over: the tunnel has closed, the declining answer ended, or it was refused. */
  done: (outcome: UpgradeOutcome) => void
}

export class UpgradeAttempt implements Dispatcher.DispatchHandler, ConnectionAware {
  readonly #socket: Duplex
  /** What the client sent after its handshake, read while the handshake waits: the tunnel's first bytes. */
  #early: Buffer[]
  #earlyBytes: number
  /** The client's connection closed before the answer (seen by #onEarlyClose). */
  #clientLeft = false
  /**
   * Where attempts go: the runtime the handshake was admitted to, or the one a reload replaced it with (#retry).
   * Changed only between attempts, so each attempt's acquire and release are in one pool.
   */
  #runtime: PoolRuntime
  /** The runtime a pool's name has now. */
  readonly #running: RunningPool
  /** The gateway's clock (every runtime's): the deadline and backoff timers run on it. */
  readonly #clock: Clock
  readonly #request: UpgradeRequest
  /** The target of the attempt in flight (the last one tried once it is over). */
  #target: Target
  /** Targets an earlier attempt could not connect to (allocated by the first retry): not a stale connection's. */
  #failedOn: Target[] | undefined
  /** Every target a handshake went to, in order, once there is more than one (the access log lists them). */
  #sent: Target[] | undefined
  #attempts = 0
  /**
   * The ids of targets an attempt found a stale kept-alive connection to (one such try per target): not counted by
   * retry.attempts, and later attempts to them go out on new connections.
   */
  #staleIds: Set<string> | undefined
  /** The attempt in flight went out on a connection that carried an answer before (TargetConnections tells). */
  #reused = false
  /** What made the retry waiting now one: a connect failure, or a stale connection. */
  #retryReason: 'connect-failure' | 'stale' = 'connect-failure'
  /** The deadline for the upstream's answer head, all attempts together (the pool's timeouts.requestMs). */
  readonly #deadline: number
  readonly #requestId: string
  readonly #report: UpgradeReport
  #ended = false
  readonly #tunnels: TunnelSet
  #controller: Dispatcher.DispatchController | undefined
  /** The status of a declined answer, once its head is here. */
  #answered = 0
  /** The answer's head (a 101, or a final status) is here: the deadline no longer applies. */
  #headReceived = false
  /** A declined answer whose status is in failureStatuses: the target's failure once it has ended. */
  #failureStatus = false
  #released = false
  /** Counted in the target's queue until undici starts or ends it. */
  #queued = false
  /**
   * Runs until the answer's head: the wait for a connection and for the upstream's answer alike, as a request's
   * deadline does (undici's own headers timeout, max(requestMs, idleMs), is longer).
   */
  #deadlineTimer: Timer | undefined
  /** The deadline ran out while the upstream had the handshake: its abort is the target's timeout. */
  #timedOut = false
  /** The handshake waited for a connection past timeouts.requestMs: answered 503, out of the queue (or aborted when undici starts it). */
  #expired = false
  /** Between a connect failure and the retry's dispatch (its backoff timer, if any, in #backoff). */
  #waitingToRetry = false
  #backoff: Timer | undefined
  readonly #startedAt = performance.now()
  #attemptStartedAt = this.#startedAt
  /**
   * The client left before the answer: a handshake still queued for a connection leaves the queue at once (as a
   * request does, src/proxy/attempt.ts); one undici has started is aborted.
   */
  readonly #onEarlyClose = (): void => {
    this.#clientLeft = true
    this.#stopReading()
    // between attempts nothing is in flight: the retry is cancelled, and no target hears of it
    if (this.#waitingToRetry) {
      this.#cancelRetry()
      return this.#end(this.#clientGoneOutcome())
    }
    if (this.#controller !== undefined) return this.#controller.abort(new Error('client went away'))
    if (!this.#queued || !this.#target.client.withdraw(this)) return // a connection is being opened for it: onRequestStart aborts
    this.#leaveQueue()
    this.#clientGone()
  }

  // kept as the chunks came: joining on each would copy what is kept again for every chunk a client trickles
  readonly #keepEarly = (chunk: Buffer): void => {
    this.#early.push(chunk)
    this.#earlyBytes += chunk.length
    if (this.#earlyBytes > MAX_EARLY_BYTES) this.#socket.destroy()
  }

  /** A client that half-closes before its answer has left: no WebSocket runs over a connection it has ended. */
  readonly #onClientEnd = (): void => { this.#socket.destroy() }

  /** Sends the handshake to `target` at once (upgrade.ts picked it, and checked its queue has room). */
  constructor (socket: Duplex, head: Buffer, runtime: PoolRuntime, running: RunningPool, target: Target, request: UpgradeRequest, requestId: string, report: UpgradeReport, tunnels: TunnelSet) {
    this.#socket = socket
    this.#early = head.length > 0 ? [head] : []
    this.#earlyBytes = head.length
    this.#runtime = runtime
    this.#running = running
    this.#clock = runtime.clock
    this.#request = request
    this.#target = target
    this.#requestId = requestId
    this.#report = report
    this.#tunnels = tunnels
    socket.once('close', this.#onEarlyClose)
    // Read on while the handshake waits for a connection and its answer: without reading, a client that leaves
    // (FIN or reset) is not seen until a connection comes free, and its place in the queue is held for nothing.
    socket.on('data', this.#keepEarly)
    socket.once('end', this.#onClientEnd)
    socket.resume()
    const requestMs = runtime.config.timeouts.requestMs
    this.#deadline = monotonicMs(runtime.clock) + requestMs
    // an answer head already waiting in the socket when a stalled loop fires the timer still counts (attempt.ts)
    this.#deadlineTimer = setVerdictTimeout(runtime.clock, () => this.#deadlineReached(), requestMs)
    this.#dispatch(target)
  }

  #dispatch (target: Target): void {
    if (this.#attempts > 0) (this.#sent ??= [this.#target]).push(target)
    this.#target = target
    this.#attempts++
    this.#attemptStartedAt = performance.now()
    this.#controller = undefined
    this.#released = false
    this.#queued = true
    this.#runtime.pool.acquire(target)
    target.enqueue()
    const request = this.#request
    if (request.hostAt >= 0) request.headers[request.hostAt + 1] = target.host
    target.client.dispatch({
      path: request.path,
      method: request.method,
      headers: request.headers,
      upgrade: request.upgrade,
      ...(target.servername !== undefined ? { servername: target.servername } : {}),
    } as Dispatcher.DispatchOptions, this, this.#staleIds?.has(target.id) === true) // after a stale connection, only a new one to its target
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#leaveQueue()
    this.#controller = controller
    if (this.#expired || this.#socket.destroyed) controller.abort(new Error('client went away'))
  }

  #leaveQueue (): void {
    if (!this.#queued) return
    this.#queued = false
    this.#target.dequeue()
  }

  /** The answer's head is here in time: the deadline is met. */
  #answerArrived (): void {
    this.#headReceived = true
    this.#clock.clearTimeout(this.#deadlineTimer)
  }

  /**
   * timeouts.requestMs ran out before the answer's head. Still queued for a connection (all the target's busy): 503
   * upstream_busy, as for a request, and no failure of the target's. Sent, or a connection being opened for it: the
   * target is slow to accept or to answer, 504 upstream_timeout, its failure (src/proxy/attempt.ts).
   */
  #deadlineReached (): void {
    if (this.#ended || this.#headReceived) return
    if (this.#waitingToRetry) {
      this.#cancelRetry()
      this.#stopWatchingClient()
      return this.#end({ status: 0, refusal: failureCode('connect-failure'), failed: true, attempts: this.#attempts, target: this.#target, handshakeMs: performance.now() - this.#startedAt })
    }
    if (this.#controller !== undefined) {
      // onResponseError ends it, as the target's timeout
      this.#timedOut = true
      return this.#controller.abort(AttemptAborted.signal('attempt_timeout'))
    }
    if (!this.#queued) return
    this.#expired = true
    const waiting = this.#target.client.withdraw(this)
    if (waiting) this.#leaveQueue()
    // gone while a connection was being opened for it (not withdrawable then): the client's leaving, not the target's
    if (this.#clientLeft || this.#socket.destroyed) return this.#clientGone()
    this.#stopWatchingClient()
    const handshakeMs = performance.now() - this.#startedAt
    if (!waiting) return this.#targetFailed('timeout', handshakeMs, undefined)
    this.#release()
    this.#runtime.observer.attempt(this.#target, 'busy', performance.now() - this.#attemptStartedAt)
    this.#end({ status: 0, refusal: 'upstream_busy', attempts: this.#attempts, target: this.#target, handshakeMs })
  }

  onRequestUpgrade (_controller: Dispatcher.DispatchController, _status: number, headers: IncomingHttpHeaders, upSocket: Duplex): void {
    this.#answerArrived()
    const socket = this.#socket
    socket.off('close', this.#onEarlyClose)
    this.#stopReading()
    if (socket.destroyed) {
      upSocket.destroy()
      return this.#clientGone()
    }
    // Disabled while its handshake was out: disable closes the tunnels open to the target (UpstreamPool.setStatus),
    // and this one was not open yet. Refused as an upgrade with no target is; the target answered (a successful
    // attempt, no failure of its). A target a reload removed meanwhile drains, which leaves tunnels open.
    if (this.#targetDisabled()) {
      upSocket.destroy()
      this.#release()
      this.#runtime.observer.attempt(this.#target, 'success', performance.now() - this.#attemptStartedAt)
      return this.#end({ status: 0, refusal: 'no_available_target', attempts: this.#attempts, target: this.#target, handshakeMs: performance.now() - this.#startedAt })
    }
    // paused above: what arrives from here on stays in the socket's buffer and follows these bytes through the pipe
    socket.pause()
    // Hop-by-hop fields are removed both ways (README), the 101's too: those its Connection names, Keep-Alive,
    // Proxy-Connection. Upgrade names the protocol switched to, for this hop as for the client's: kept, with the
    // Connection that must name it (RFC 9110 §7.8).
    const upgrade = headers.upgrade
    stripResponseHopByHop(headers)
    if (upgrade !== undefined) headers.upgrade = upgrade
    headers.connection = 'Upgrade'
    // the request id is returned on every answer (README), the 101 too: the target's own is replaced, as on any answer
    headers['x-request-id'] = this.#requestId
    // Expect is held back from the target (src/proxy/headers.ts), so it sends no 100: the gateway does, before the 101
    // (RFC 9110 §7.8), in the same write
    const head = upstreamHead(101, 'Switching Protocols', headers)
    socket.write(this.#request.expectsContinue ? CONTINUE + head : head)
    this.#report.answered(101)
    for (const chunk of this.#early) upSocket.write(chunk)
    this.#early = [] // the tunnel may live for hours: it keeps none of them
    // the target answered: one successful attempt. How the tunnel ends later (either side closing, a reset) is
    // no verdict on the target: a tunnel has no end that counts as a failure
    const handshakeMs = performance.now() - this.#startedAt
    this.#runtime.observer.attempt(this.#target, 'success', performance.now() - this.#attemptStartedAt)
    this.#runtime.outlier.success(this.#target)
    let closed = false
    let idleTimer: Timer | undefined
    let idleTimeout = false
    let finTimer: Timer | undefined
    const clock = this.#clock
    const close = (): void => {
      if (closed) return
      closed = true
      clock.clearTimeout(idleTimer)
      clock.clearTimeout(finTimer)
      this.#target.tunnelClosed(close)
      this.#release()
      socket.destroy()
      upSocket.destroy()
      this.#end({ status: 101, attempts: this.#attempts, target: this.#target, handshakeMs, ...(idleTimeout ? { idleTimeout } : {}) })
    }
    this.#target.tunnelOpened(close)
    this.#tunnels.opened(socket)
    upSocket.on('error', close).on('close', close)
    socket.on('error', close).on('close', close)
    const idleMs = this.#runtime.config.timeouts.tunnelIdleMs
    // a byte either way marks the tunnel alive; the timers only look at the last mark when they fire, so traffic
    // costs one clock read per chunk, not a timer reset
    const now = (): number => clock.monotonicNow?.() ?? clock.now()
    let lastActive = now()
    const touch = (): void => { lastActive = now() }
    socket.on('data', touch)
    upSocket.on('data', touch)
    // bytes delivered to a reader that had held them back (backpressure) are activity too
    socket.on('drain', touch)
    upSocket.on('drain', touch)
    if (idleMs > 0) {
      const check = (): void => {
        // half-closed: the grace below (never longer than this) ends it
        if (finTimer !== undefined) return
        const silentMs = now() - lastActive
        if (silentMs < idleMs) { idleTimer = clock.setTimeout(check, idleMs - silentMs); return }
        idleTimeout = true
        close()
      }
      idleTimer = clock.setTimeout(check, idleMs)
    }
    // An upstream's FIN is passed on to the client, as the client's is to the upstream, rather than answered at once
    // with the gateway's own (Node's default for undici's socket): the client keeps the grace below to send what it
    // still has (its close frame's answer) before the tunnel closes.
    upSocket.allowHalfOpen = true
    upSocket.pipe(socket)
    socket.pipe(upSocket)
    // Registered after the pipes' own 'end' listeners: when these run, the FIN has been passed on. One side ended:
    // the tunnel closes after the grace of silence either way (never longer than tunnelIdleMs), as HAProxy's
    // client-fin/server-fin count inactivity: a side still sending (a download the client half-closed its end of) is
    // never cut. Both ended: nothing more can come either way, so the tunnel closes now, unless bytes are still
    // being written, in which case the socket closes itself once they are out (its 'close' closes the tunnel).
    const graceMs = idleMs > 0 ? Math.min(TUNNEL_FIN_GRACE_MS, idleMs) : TUNNEL_FIN_GRACE_MS
    const finCheck = (): void => {
      const silentMs = now() - lastActive
      // bytes still to deliver: a reader that stopped reading a while (backpressure) is no silence, and only
      // tunnelIdleMs bounds it, as it does a tunnel open both ways (a stalled download was cut 5 s after the FIN)
      const queued = socket.writableLength > 0 || upSocket.writableLength > 0
      const limitMs = queued ? (idleMs > 0 ? idleMs : Infinity) : graceMs
      if (silentMs < limitMs) { finTimer = clock.setTimeout(finCheck, Math.min(graceMs, limitMs - silentMs)); return }
      if (queued) idleTimeout = true
      close()
    }
    const ended = (): void => {
      if (closed) return
      if (finTimer === undefined) {
        touch()
        finTimer = clock.setTimeout(finCheck, graceMs)
        return
      }
      if (socket.writableLength === 0 && upSocket.writableLength === 0) close()
    }
    socket.once('end', ended)
    upSocket.once('end', ended)
  }

  // The target declined the upgrade (401, 403, 426…): its answer is the client's, then the connection closes.
  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    // informational answers (103 Early Hints) are not the answer: undici waits for the final one (RFC 9110 §15.2)
    if (statusCode < 200) return
    this.#answerArrived()
    // the request path's rules (a status past 599, a transfer coding that cannot be undone): a bad response (502)
    const refused = unforwardable(statusCode, headers, 'GET')
    if (refused !== undefined) return controller.abort(refused)
    this.#answered = statusCode
    // the answer is the client's now; what it sends from here is read and dropped (endAndLinger at the end)
    this.#stopReading()
    // a failure status is the target's failure (outlier detection, the breaker) once the answer has ended, as a
    // request's is (src/proxy/attempt.ts #settle)
    this.#failureStatus = this.#runtime.isFailureStatus(statusCode)
    this.#runtime.observer.attempt(this.#target, this.#failureStatus ? 'status' : 'success', performance.now() - this.#attemptStartedAt, statusCode >= 500)
    const out = stripResponseHopByHop({ ...headers })
    out.connection = 'close'
    out['x-request-id'] = this.#requestId
    // a target that sent none gets one, as Node gives every answer the gateway forwards (RFC 9110 §6.6.1)
    out.date ??= httpDate()
    // without a length (a chunked answer's coding is undone, its Transfer-Encoding stripped as hop-by-hop above) the
    // body runs to the close of the connection
    this.#socket.write(upstreamHead(statusCode, forwardedReason(statusCode, statusMessage) ?? '', out))
    this.#report.answered(statusCode)
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#socket.write(chunk)
  }

  onResponseEnd (): void {
    this.#socket.off('close', this.#onEarlyClose)
    const failed = this.#failureStatus
    this.#release(failed)
    if (failed) this.#runtime.outlier.failure(this.#target, 'status', this.#answered)
    else this.#runtime.outlier.success(this.#target)
    endAndLinger(this.#socket)
    this.#end({ status: this.#answered, declined: true, ...(failed ? { failed } : {}), attempts: this.#attempts, target: this.#target, handshakeMs: performance.now() - this.#startedAt })
  }

  onConnectionChosen (reused: boolean): void {
    this.#reused = reused
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#leaveQueue()
    if (this.#expired || this.#ended) return
    const socket = this.#socket
    const handshakeMs = performance.now() - this.#startedAt
    if (socket.destroyed) {
      this.#stopWatchingClient()
      if (this.#answered === 0) return this.#clientGone()
      this.#release()
      return this.#end({ status: this.#answered, declined: true, clientGone: true, attempts: this.#attempts, target: this.#target, handshakeMs })
    }
    if (this.#answered === 0 && !this.#timedOut && isLocalResourceError(err)) {
      // the gateway had no file descriptor or local port for the connection: no verdict on the target (attempt.ts)
      this.#stopWatchingClient()
      this.#release()
      this.#runtime.observer.attempt(this.#target, 'local-error', performance.now() - this.#attemptStartedAt)
      return this.#end({ status: 0, refusal: 'overloaded', upstreamError: (err as NodeJS.ErrnoException).code, attempts: this.#attempts, target: this.#target, handshakeMs })
    }
    const kind = this.#timedOut ? 'timeout' : classifyError(err)
    if (this.#answered !== 0) {
      // the upstream cut its answer short: its failure, as a request's answer cut short is
      this.#stopWatchingClient()
      this.#release(true)
      this.#runtime.outlier.failure(this.#target, kind)
      // the declined answer's body runs to the close (its chunking is the upstream's, stripped): a FIN would end it as
      // if whole; only a reset shows the client the cut (RFC 9112 §8), as for an HTTP/1.0 client's answer (exchange.ts)
      if (typeof (socket as Partial<Socket>).resetAndDestroy === 'function') (socket as Socket).resetAndDestroy()
      else socket.destroy()
      return this.#end({ status: this.#answered, declined: true, failed: true, cutShortBy: failureCode(kind), attempts: this.#attempts, target: this.#target, handshakeMs })
    }
    const upstreamError = errorCodeOf(err)
    // A kept-alive connection the upstream (or a middlebox) dropped while idle, reset before any byte of an answer:
    // the race of keep-alive, no verdict on the target (attempt.ts, AttemptResult.stale); its other idle connections
    // are closed and the handshake is sent again, as after a connect failure, without counting the attempt.
    if (kind === 'reset' && this.#reused && this.#staleIds?.has(this.#target.id) !== true) {
      ;(this.#staleIds ??= new Set()).add(this.#target.id)
      this.#target.client.dropIdle()
      this.#release()
      this.#runtime.observer.attempt(this.#target, 'stale', performance.now() - this.#attemptStartedAt)
      if (this.#retryUnanswered('stale')) return
      this.#stopWatchingClient()
      // not sent again (the policy, the deadline): refused, and no failure of the target's, so no breaker verdict
      return this.#end({ status: 0, refusal: failureCode(kind), upstreamError, attempts: this.#attempts, target: this.#target, handshakeMs })
    }
    // the target could not be reached for the handshake, or did not answer it: a failed attempt, as for any request;
    // a connection never made sent nothing, so another target may be tried (the client is still watched meanwhile)
    if (kind === 'connect-failure') {
      this.#countFailure(kind)
      if (this.#retryUnanswered('connect-failure')) return
      this.#stopWatchingClient()
      return this.#end({ status: 0, refusal: failureCode(kind), failed: true, upstreamError, attempts: this.#attempts, target: this.#target, handshakeMs })
    }
    this.#stopWatchingClient()
    this.#targetFailed(kind, handshakeMs, upstreamError)
  }

  /**
   * Whether the target is disabled now, as the admin API sees it: its copy in the pool running under the name (a
   * reload may have made a new copy, or a new pool, since the handshake was sent).
   */
  #targetDisabled (): boolean {
    const pool = (this.#running(this.#runtime.name) ?? this.#runtime).pool
    const current = sameTargetIn(pool, this.#target)
    return current !== undefined && pool.status(current).disabled
  }

  /** The attempt in flight failed by the target's fault: counted, and the handshake refused with its code. */
  #targetFailed (kind: FailureKind, handshakeMs: number, upstreamError: string | undefined): void {
    this.#countFailure(kind)
    this.#end({ status: 0, refusal: failureCode(kind), failed: true, upstreamError, attempts: this.#attempts, target: this.#target, handshakeMs })
  }

  #countFailure (kind: FailureKind): void {
    this.#release(true)
    this.#runtime.observer.attempt(this.#target, kind, performance.now() - this.#attemptStartedAt)
    this.#runtime.outlier.failure(this.#target, kind)
  }

  /**
   * After a connect failure or a stale connection (no answer either way): another attempt if the pool's retry policy
   * takes the failure and has attempts left, and its backoff ends before the deadline (the checks and order of
   * src/proxy/attempt.ts #mayRetryAfter and src/proxy/retry-loop.ts). Neither retry takes a budget slot
   * (retry-loop.ts): neither loads an upstream. The pick is made when the retry goes out, as retry-loop.ts makes it.
   */
  #retryUnanswered (reason: 'connect-failure' | 'stale'): boolean {
    const runtime = this.#runtime
    const counted = this.#attempts - (this.#staleIds?.size ?? 0)
    const attempts = runtime.config.retry.attempts
    // the handshake that went back to a target after its stale connection could not connect (a pod that died resets
    // its connections, then refuses): it goes elsewhere, as it would have without going back, whatever retryOn says
    const returned = reason === 'connect-failure' && this.#retryReason === 'stale' && this.#staleIds?.has(this.#target.id) === true
    // (retries off, attempts 1: not even after a stale connection, as the operator asked)
    if (attempts <= 1 || counted >= attempts || (!returned && !runtime.retry.retryableFailure(reason === 'stale' ? 'reset' : 'connect-failure', HANDSHAKE_FACTS))) return false
    // a stale connection says nothing of the upstream: the handshake goes again at once, on a new connection
    const delayMs = reason === 'stale' ? 0 : runtime.retry.backoffMs(counted)
    this.#retryReason = reason
    if (monotonicMs(runtime.clock) + delayMs >= this.#deadline) return false
    // a stale connection's target did nothing wrong: the retry goes back to it (#retry)
    if (reason === 'connect-failure') (this.#failedOn ??= []).push(this.#target)
    this.#waitingToRetry = true
    // never the next dispatch from inside undici's callback for the last one (it is still unwinding that request)
    if (delayMs > 0) this.#backoff = this.#clock.setTimeout(() => this.#retry(), delayMs)
    else queueMicrotask(() => this.#retry())
    return true
  }

  #retry (): void {
    if (!this.#waitingToRetry) return // cancelled: the client left, or the deadline came
    this.#waitingToRetry = false
    this.#backoff = undefined
    const runtime = this.#follow()
    // a pool the reload removed has no targets left to try (its own close once idle: a handshake holds none open)
    // after a stale connection, the same target on a new connection while it may take requests (retry-loop.ts)
    const again = runtime !== undefined && this.#retryReason === 'stale' ? availableAgain(runtime.pool, this.#target) : undefined
    const target = runtime === undefined ? undefined : again ?? runtime.pool.pick(this.#request.pick, this.#failedOn === undefined ? [] : sameTargetsIn(runtime.pool, this.#failedOn))
    // none left to try: refused as the last attempt failed; one whose queue is full, as the first pick's would be
    if (runtime === undefined || target === undefined || target.queueFull) {
      this.#stopWatchingClient()
      const handshakeMs = performance.now() - this.#startedAt
      if (target === undefined) return this.#end({ status: 0, refusal: failureCode('connect-failure'), failed: true, attempts: this.#attempts, target: this.#target, handshakeMs })
      return this.#end({ status: 0, refusal: 'upstream_busy', attempts: this.#attempts, target, handshakeMs })
    }
    runtime.observer.retry(this.#retryReason)
    this.#dispatch(target)
  }

  /**
   * The runtime serving the pool's name now, as retry-loop.ts #follow: a reload that rebuilt the pool retired the
   * one the handshake was admitted to, whose targets close (a handshake keeps none of them open). Its settings come
   * with it (preserveHost, the retry policy of later retries); the breaker admission stays where upgrade.ts holds
   * it. Undefined: the reload removed the pool.
   */
  #follow (): PoolRuntime | undefined {
    const current = this.#runtime
    const running = this.#running(current.name)
    if (running === undefined || running === current) return running
    this.#runtime = running
    // its preserveHost may differ from the replaced one's (Exchange.rehost)
    const request = this.#request
    const headers = request.headers
    for (let i = headers.length - 2; i >= 0; i -= 2) {
      if (headers[i] === 'host') headers.splice(i, 2)
    }
    const clientHost = running.config.preserveHost ? request.clientHost : undefined
    request.hostAt = clientHost === undefined ? headers.length : -1
    headers.push('host', clientHost ?? '') // the target's name is written there by #dispatch
    return running
  }

  #cancelRetry (): void {
    this.#waitingToRetry = false
    this.#clock.clearTimeout(this.#backoff)
    this.#backoff = undefined
  }

  /** The client left before any answer reached it: no verdict on the target, one 499 for the log. */
  #clientGone (): void {
    this.#release()
    this.#runtime.observer.attempt(this.#target, 'client-abort', performance.now() - this.#attemptStartedAt)
    this.#end(this.#clientGoneOutcome())
  }

  /** How a client that left is logged, in flight or between attempts: cut for sending too much early, it says so. */
  #clientGoneOutcome (): UpgradeOutcome {
    return { status: 499, clientGone: true, attempts: this.#attempts, target: this.#target, handshakeMs: performance.now() - this.#startedAt, ...(this.#earlyBytes > MAX_EARLY_BYTES ? { earlyBytesOverLimit: true } : {}) }
  }

  /** The handshake is over before a tunnel: its client is no longer watched for leaving, nor read. */
  #stopWatchingClient (): void {
    this.#socket.off('close', this.#onEarlyClose)
    this.#stopReading()
  }

  #stopReading (): void {
    this.#socket.off('data', this.#keepEarly)
    this.#socket.off('end', this.#onClientEnd)
  }

  /** Reports the outcome once: the client's leaving and undici's error for the same abort must not log twice. */
  #end (outcome: UpgradeOutcome): void {
    if (this.#ended) return
    this.#ended = true
    this.#clock.clearTimeout(this.#deadlineTimer)
    this.#report.done(this.#sent === undefined ? outcome : { ...outcome, targets: this.#sent })
  }

  #release (failed = false): void {
    if (this.#released) return
    this.#released = true
    this.#runtime.pool.release(this.#target, failed)
  }
}

