// One WebSocket upgrade at one target, as an undici dispatch handler (like Attempt for plain requests): a 101
// becomes a byte-for-byte tunnel; a target that declines the upgrade has its answer passed to the client.
import type { IncomingHttpHeaders } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import { classifyError } from '../resilience/classify.ts'
import type { ErrorCode } from '../errors.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { Timer } from '../runtime.ts'
import type { Target } from '../upstream/target.ts'
import { failureCode } from './attempt.ts'
import { stripResponseHopByHop } from './headers.ts'
import type { TunnelSet } from './tunnels.ts'
import { endAndLinger, httpDate, upstreamHead } from './raw-response.ts'
import { forwardedReason, unforwardable } from './response-rules.ts'

export interface UpgradeOutcome {
  /** The status the client saw (101 for a tunnel that ran). */
  status: number
  /** A refusal for the caller to render: the target could not be reached. */
  refusal?: ErrorCode
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
  /** Milliseconds from dispatch to the target's answer (the 101 for a tunnel), or to the failure. */
  handshakeMs: number
}

/** Bytes a client may send after its handshake before the answer (it should send none before the 101). */
export const MAX_EARLY_BYTES = 64 * 1024

/** What an attempt tells its caller: the target's answer once written to the client, the outcome once over. */
export interface UpgradeReport {
  /** The target's answer (101, or the status it declined with) has been written to the client. */
  answered: (status: number) => void
  /** Once, when the upgrade is over: the tunnel has closed, the declining answer ended, or it was refused. */
  done: (outcome: UpgradeOutcome) => void
}

export class UpgradeAttempt implements Dispatcher.DispatchHandler {
  readonly #socket: Duplex
  /** What the client sent after its handshake, read while the handshake waits: the tunnel's first bytes. */
  #early: Buffer[]
  #earlyBytes: number
  /** The client's connection closed before the answer (seen by #onEarlyClose). */
  #clientLeft = false
  readonly #runtime: PoolRuntime
  readonly #target: Target
  readonly #requestId: string
  readonly #report: UpgradeReport
  #ended = false
  readonly #tunnels: TunnelSet
  #controller: Dispatcher.DispatchController | undefined
  #answered = 0
  #released = false
  /** Counted in the target's queue until undici starts or ends it. */
  #queued = true
  /** Runs until undici starts the handshake (then undici's headers timeout takes over). */
  #queueTimer: Timer | undefined
  /** The handshake waited for a connection past timeouts.requestMs: answered 503, out of the queue (or aborted when undici starts it). */
  #expired = false
  readonly #startedAt = performance.now()
  /**
   * The client left before the answer: a handshake still queued for a connection leaves the queue at once (as a
   * request does, src/proxy/attempt.ts); one undici has started is aborted.
   */
  readonly #onEarlyClose = (): void => {
    this.#clientLeft = true
    this.#stopReading()
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

  constructor (socket: Duplex, head: Buffer, runtime: PoolRuntime, target: Target, requestId: string, report: UpgradeReport, tunnels: TunnelSet) {
    this.#socket = socket
    this.#early = head.length > 0 ? [head] : []
    this.#earlyBytes = head.length
    this.#runtime = runtime
    this.#target = target
    this.#requestId = requestId
    this.#report = report
    this.#tunnels = tunnels
    runtime.pool.acquire(target)
    target.enqueue()
    socket.once('close', this.#onEarlyClose)
    // Read on while the handshake waits for a connection and its answer: without reading, a client that leaves
    // (FIN or reset) is not seen until a connection comes free, and its place in the queue is held for nothing.
    socket.on('data', this.#keepEarly)
    socket.once('end', this.#onClientEnd)
    socket.resume()
    this.#queueTimer = runtime.clock.setTimeout(() => this.#waitedTooLong(), runtime.config.timeouts.requestMs)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#leaveQueue()
    this.#controller = controller
    if (this.#expired || this.#socket.destroyed) controller.abort(new Error('client went away'))
  }

  #leaveQueue (): void {
    this.#runtime.clock.clearTimeout(this.#queueTimer)
    if (!this.#queued) return
    this.#queued = false
    this.#target.dequeue()
  }

  /** Still queued for a connection (all the target's busy) at the deadline: 503 upstream_busy, as for a request. */
  #waitedTooLong (): void {
    if (!this.#queued) return
    this.#expired = true
    if (this.#target.client.withdraw(this)) this.#leaveQueue()
    // gone while a connection was being opened for it (not withdrawable then): the client's leaving, not the target's
    if (this.#clientLeft || this.#socket.destroyed) return this.#clientGone()
    this.#socket.off('close', this.#onEarlyClose)
    this.#stopReading()
    this.#release()
    const handshakeMs = performance.now() - this.#startedAt
    this.#runtime.observer.attempt(this.#target, 'busy', handshakeMs)
    this.#end({ status: 0, refusal: 'upstream_busy', handshakeMs })
  }

  onRequestUpgrade (_controller: Dispatcher.DispatchController, _status: number, headers: IncomingHttpHeaders, upSocket: Duplex): void {
    const socket = this.#socket
    socket.off('close', this.#onEarlyClose)
    this.#stopReading()
    if (socket.destroyed) {
      upSocket.destroy()
      return this.#clientGone()
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
    socket.write(upstreamHead(101, 'Switching Protocols', headers))
    this.#report.answered(101)
    for (const chunk of this.#early) upSocket.write(chunk)
    this.#early = [] // the tunnel may live for hours: it keeps none of them
    // the target answered: one successful attempt. How the tunnel ends later (either side closing, a reset) is
    // no verdict on the target: a tunnel has no end that counts as a failure
    const handshakeMs = performance.now() - this.#startedAt
    this.#runtime.observer.attempt(this.#target, 'success', handshakeMs)
    this.#runtime.outlier.success(this.#target)
    let closed = false
    let idleTimer: Timer | undefined
    let idleTimeout = false
    const clock = this.#runtime.clock
    const close = (): void => {
      if (closed) return
      closed = true
      clock.clearTimeout(idleTimer)
      this.#target.tunnelClosed(close)
      this.#release()
      socket.destroy()
      upSocket.destroy()
      this.#end({ status: 101, handshakeMs, ...(idleTimeout ? { idleTimeout } : {}) })
    }
    this.#target.tunnelOpened(close)
    this.#tunnels.opened(socket)
    upSocket.on('error', close).on('close', close)
    socket.on('error', close).on('close', close)
    const idleMs = this.#runtime.config.timeouts.tunnelIdleMs
    if (idleMs > 0) {
      // a byte either way marks the tunnel alive; the timer only looks at the last mark when it fires, so traffic
      // costs one clock read per chunk, not a timer reset
      const now = (): number => clock.monotonicNow?.() ?? clock.now()
      let lastActive = now()
      const touch = (): void => { lastActive = now() }
      socket.on('data', touch)
      upSocket.on('data', touch)
      const check = (): void => {
        const silentMs = now() - lastActive
        if (silentMs < idleMs) { idleTimer = clock.setTimeout(check, idleMs - silentMs); return }
        idleTimeout = true
        close()
      }
      idleTimer = clock.setTimeout(check, idleMs)
    }
    upSocket.pipe(socket)
    socket.pipe(upSocket)
  }

  // The target declined the upgrade (401, 403, 426…): its answer is the client's, then the connection closes.
  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    // informational answers (103 Early Hints) are not the answer: undici waits for the final one (RFC 9110 §15.2)
    if (statusCode < 200) return
    // the request path's rules (a status past 599, a transfer coding that cannot be undone): a bad response (502)
    const refused = unforwardable(statusCode, headers, 'GET')
    if (refused !== undefined) return controller.abort(refused)
    this.#answered = statusCode
    // the answer is the client's now; what it sends from here is read and dropped (endAndLinger at the end)
    this.#stopReading()
    this.#runtime.observer.attempt(this.#target, this.#runtime.isFailureStatus(statusCode) ? 'status' : 'success', performance.now() - this.#startedAt, statusCode >= 500)
    const out = stripResponseHopByHop({ ...headers })
    out.connection = 'close'
    out['x-request-id'] = this.#requestId
    // a target that sent none gets one, as Node gives every answer the gateway forwards (RFC 9110 §6.6.1)
    out.date ??= httpDate()
    // without a length the body runs to the close of the connection
    if (out['content-length'] === undefined) delete out['transfer-encoding']
    this.#socket.write(upstreamHead(statusCode, forwardedReason(statusCode, statusMessage) ?? '', out))
    this.#report.answered(statusCode)
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#socket.write(chunk)
  }

  onResponseEnd (): void {
    this.#socket.off('close', this.#onEarlyClose)
    this.#release()
    endAndLinger(this.#socket)
    this.#end({ status: this.#answered, declined: true, handshakeMs: performance.now() - this.#startedAt })
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#leaveQueue()
    if (this.#expired) return
    const socket = this.#socket
    socket.off('close', this.#onEarlyClose)
    this.#stopReading()
    if (socket.destroyed) {
      if (this.#answered === 0) return this.#clientGone()
      this.#release()
      return this.#end({ status: this.#answered, declined: true, clientGone: true, handshakeMs: performance.now() - this.#startedAt })
    }
    if (this.#answered !== 0) {
      this.#release()
      socket.destroy()
      return this.#end({ status: this.#answered, declined: true, cutShortBy: failureCode(classifyError(err)), handshakeMs: performance.now() - this.#startedAt })
    }
    // the target could not be reached for the handshake: a failed attempt, as for any request
    const kind = classifyError(err)
    this.#release(true)
    this.#runtime.observer.attempt(this.#target, kind, performance.now() - this.#startedAt)
    this.#runtime.outlier.failure(this.#target)
    this.#end({ status: 0, refusal: failureCode(kind), handshakeMs: performance.now() - this.#startedAt })
  }

  /** The client left before any answer reached it: no verdict on the target, one 499 for the log. */
  #clientGone (): void {
    this.#release()
    const handshakeMs = performance.now() - this.#startedAt
    this.#runtime.observer.attempt(this.#target, 'client-abort', handshakeMs)
    this.#end({ status: 499, clientGone: true, handshakeMs, ...(this.#earlyBytes > MAX_EARLY_BYTES ? { earlyBytesOverLimit: true } : {}) })
  }

  #stopReading (): void {
    this.#socket.off('data', this.#keepEarly)
    this.#socket.off('end', this.#onClientEnd)
  }

  /** Reports the outcome once: the client's leaving and undici's error for the same abort must not log twice. */
  #end (outcome: UpgradeOutcome): void {
    if (this.#ended) return
    this.#ended = true
    this.#report.done(outcome)
  }

  #release (failed = false): void {
    if (this.#released) return
    this.#released = true
    this.#runtime.pool.release(this.#target, failed)
  }
}
