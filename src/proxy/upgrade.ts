// WebSocket upgrades: admitted and routed like any request, then tunnelled byte for byte to one target of the pool.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { ERRORS, type ErrorCode } from '../errors.ts'
import type { Admission, Verdict } from '../resilience/breaker.ts'
import type { GatewayState, RefusalObserver } from '../state.ts'
import type { Admit } from './front.ts'
import { bytesWrittenSinceLastLine, loggedTargetPath } from './access-log.ts'
import { announcesBody } from './body.ts'
import { extractHashKey } from './hash-key.ts'
import { endAndLinger, rawErrorAnswer } from './raw-response.ts'
import { restartRead } from './pipelining.ts'
import { requestIdOf } from './request-id.ts'
import type { RunningPool } from './retry-loop.ts'
import type { TunnelSet } from './tunnels.ts'
import { MAX_EARLY_BYTES, UpgradeAttempt, type UpgradeOutcome } from './upgrade-attempt.ts'

export interface UpgradeOptions {
  state: () => GatewayState
  admit: Admit
  logger: Logger
  /** Sockets the upgrade path has taken over, handshake or tunnel, so shutdown can wait for and close them (the HTTP server does not track them). */
  tunnels: TunnelSet
  /** Shutdown: whether this upgrade is refused with shutting_down (see ProxyHandler.refusesUpgrade). */
  refuses: (req: IncomingMessage) => boolean
  /**
   * server.maxUrlBytes, read for each upgrade (a reload changes it): a longer request target is refused 414 and the
   * connection closed, as for a request (src/proxy/forward.ts). Unset: no limit.
   */
  maxUrlBytes?: () => number
  /** Counts the refusals given before any route took the upgrade (a route's series count the rest). */
  refusals?: RefusalObserver
  /** Whether the gateway is over its overload limits: an upgrade is refused 503 overloaded, as a request is. */
  overloaded?: () => boolean
  /**
   * Shutdown: whether shutdown.timeoutMs ran out and the connections left are being cut (ProxyHandler's 'cutting'
   * phase). A handshake or tunnel that ends now is the gateway's cut, shutdown_cut, not a client that left.
   */
  cutting?: () => boolean
  /**
   * The client's address for the line of an upgrade or CONNECT never admitted (an admitted one has
   * admission.clientIp): the peer's, or the client a trusted proxy names, as a request's line has it.
   */
  clientIp: (req: IncomingMessage, socket: Socket) => string
}

export function createUpgradeHandler (opts: UpgradeOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  // where a handshake's retry is picked: the pool running under its name then (src/proxy/retry-loop.ts)
  const running: RunningPool = (name) => opts.state().pools.get(name)
  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer, startedAt: number, readAtStart: number, clientIp: string): void => {
    // before the front half, as for a request: nothing of it is routed or sent on
    if (opts.maxUrlBytes !== undefined && (req.url?.length ?? 0) > opts.maxUrlBytes()) return refuseUnadmitted(opts, req, socket, clientIp, 'uri_too_long', startedAt, readAtStart)
    // the gateway's own state, before any route: shutting down, or overloaded (it opens no tunnel that may last
    // hours, as it takes no request). Neither says anything of a canary's version.
    if (opts.refuses(req)) return refuseUnadmitted(opts, req, socket, clientIp, 'shutting_down', startedAt, readAtStart, { 'retry-after': '1' })
    if (opts.overloaded?.() === true) return refuseUnadmitted(opts, req, socket, clientIp, 'overloaded', startedAt, readAtStart, { 'retry-after': '1' })
    const state = opts.state()
    const admission = opts.admit(req, state, true)
    const { requestId, runtime } = admission
    const observer = admission.route && runtime !== undefined ? state.observers?.get(admission.route, runtime.name) : undefined
    // in flight on it until count() (every way out of here counts once: a refusal, the 101, a declined or cut handshake)
    observer?.begin()
    // One access-log line per upgrade, once it is over, and one requests_total count: a tunnel's when its 101 is
    // written (as Envoy counts a 1xx at its response headers: a tunnel open for hours is counted while it runs),
    // any other answer's with its line. The duration series gets the time to the answer, never a tunnel's lifetime,
    // which would swamp the route's latencies.
    const count = (status: number, handshakeMs?: number): void => {
      observer?.request(req.method ?? 'GET', status, (handshakeMs ?? performance.now() - startedAt) / 1000)
    }
    // the fields of a request's line (src/proxy/access-log.ts): its route and pool as soon as it has them, no
    // attempt until one is made, and the bytes its connection carried (a tunnel's are given when it closes)
    const log = (status: number, extra: Record<string, unknown>, handshakeMs?: number): void => {
      opts.logger.info({ requestId, clientIp: admission.clientIp, method: req.method, path: admission.path || loggedTargetPath(req.url), route: admission.route?.label, pool: runtime?.name, target: undefined, status, upgrade: true, durationMs: hundredths(performance.now() - startedAt), ...connectionBytes(socket, readAtStart), attempts: 0, ...extra }, 'request')
      if (status !== 101) count(status, handshakeMs)
      // a tunnel's line too (counted at its 101): every line with an error code is counted by it
      if (typeof extra.error === 'string') observer?.error(extra.error)
    }
    // A canary's upgrades judge it as its requests do. A tunnel is judged when its 101 is written: it may stay open
    // for hours, and counting it only when it ended left a window with the failures of requests but none of the
    // open tunnels' successes (a false rollback). A declined upgrade is judged once its answer has ended, as a
    // request is: cut short by the upstream, it is a failure whatever its status.
    const judge = (ok: boolean): void => {
      if (admission.version !== undefined) admission.plan?.recordVersion(admission.version, ok, admission.canaryEpoch)
    }
    const refuse = (code: ErrorCode, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void => {
      endAndLinger(socket, rawErrorAnswer(code, requestId, headers))
      // the gateway's own shortage (out of file descriptors) says nothing of the version either
      if (code !== 'overloaded') judge(ERRORS[code].status < 500)
      if (admission.route === undefined) opts.refusals?.refused(code)
      log(ERRORS[code].status, { error: code, ...extra })
    }
    if (admission.refusal !== undefined || runtime === undefined) return refuse(admission.refusal ?? 'no_route')
    // a handshake no WebSocket server could accept never costs an upstream connection (RFC 6455 §4.2.1);
    // a version other than 13 is told the one spoken (§4.4)
    const handshake = handshakeProblem(req)
    if (handshake !== undefined) return refuse('bad_request', { handshake }, handshake === 'version' ? { 'sec-websocket-version': '13' } : {})
    // Admitted by the pool's breaker as a request is (forward.ts #throughPool): half-open, the handshake may be its
    // probe. The same Retry-After as a refused request's: when the breaker tries again, or in a second.
    let breakerAdmission: Admission | undefined = runtime.breaker.admit()
    if (breakerAdmission === undefined) {
      const retryAfter = runtime.breaker.retryAfterSeconds()
      return refuse('circuit_open', {}, retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {})
    }
    // The breaker's verdict, once, as a request's (forward.ts verdictOf): the upstream's failure counts, its answer is
    // a success, and no answer that was not its fault (no target, a busy one, a client that left) says nothing.
    // A tunnel is judged at its 101: it may stay open for hours.
    const judgeBreaker = (verdict: Verdict): void => {
      if (breakerAdmission === undefined) return
      runtime.breaker.judge(verdict, breakerAdmission)
      breakerAdmission = undefined
    }
    const pick = { hashKey: runtime.hashKey && extractHashKey(runtime.hashKey, req, admission.clientIp) }
    const target = runtime.pool.pick(pick)
    if (target === undefined) {
      judgeBreaker(undefined)
      return refuse('no_available_target', { pool: runtime.name }, RETRY_SOON)
    }
    if (target.queueFull) {
      judgeBreaker(undefined)
      return refuse('upstream_busy', { pool: runtime.name })
    }
    const headers = admission.headers
    // the attempt writes each target's name there
    const hostAt = !runtime.config.preserveHost || admission.facts.host === undefined ? headers.push('host', target.host) - 2 : -1
    const done = (outcome: UpgradeOutcome): void => {
      judgeBreaker(outcome.clientGone === true ? undefined : outcome.failed === true ? 'failure' : outcome.declined === true ? 'success' : undefined)
      const where = { route: admission.route?.label, pool: runtime.name, target: outcome.target.url, attempts: outcome.attempts, ...(outcome.targets !== undefined ? { targets: outcome.targets.map((t) => t.url) } : {}) }
      // no target (the one that answered was disabled meanwhile): with the Retry-After of the first pick's refusal
      // (and the gateway's own shortage, as a request's 503 overloaded says it)
      if (outcome.refusal !== undefined) return refuse(outcome.refusal, outcome.upstreamError !== undefined ? { ...where, upstreamError: outcome.upstreamError } : where, outcome.refusal === 'no_available_target' || outcome.refusal === 'overloaded' ? RETRY_SOON : {})
      // ended by the shutdown's cut (its connection closed by drainAndClose), not by its client
      const shutdownCut = opts.cutting?.() === true
      if (outcome.declined === true) {
        const cut = outcome.clientGone === true ? (shutdownCut ? SHUTDOWN_CUT : { aborted: true }) : outcome.cutShortBy !== undefined ? { error: outcome.cutShortBy } : {}
        // a client that left, or the shutdown's cut, says nothing of the version
        if (outcome.clientGone !== true) judge(outcome.status < 500 && outcome.cutShortBy === undefined)
        return log(outcome.status, { ...where, upstreamDeclinedUpgrade: true, ...cut }, outcome.handshakeMs)
      }
      if (outcome.clientGone === true) {
        // waiting for its 101: 503 shutdown_cut, as a request the cut ends before its answer began (forward.ts)
        if (shutdownCut) return log(ERRORS.shutdown_cut.status, { ...where, ...SHUTDOWN_CUT }, outcome.handshakeMs)
        return log(499, { ...where, aborted: true, ...(outcome.earlyBytesOverLimit === true ? { earlyBytesOverLimit: true } : {}) }, outcome.handshakeMs)
      }
      log(101, { ...where, ...(outcome.idleTimeout === true ? { tunnelIdleTimeout: true } : {}), ...(shutdownCut ? SHUTDOWN_CUT : {}) }, outcome.handshakeMs)
    }
    const answered = (status: number): void => {
      if (status !== 101) return
      count(101)
      judge(true)
      judgeBreaker('success')
    }
    const request = {
      path: admission.upstreamPath,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      hostAt,
      clientHost: admission.facts.host,
      upgrade: String(req.headers.upgrade ?? 'websocket'),
      expectsContinue: EXPECTS_CONTINUE.test(String(req.headers.expect ?? '')),
      pick,
    }
    // it dispatches itself; undici holds it until the handshake is over
    new UpgradeAttempt(socket, head, runtime, running, target, request, requestId, { answered, done }, opts.tunnels)
  }
  return (req, socket, head) => {
    const startedAt = performance.now()
    // what the connection had read up to the end of this handshake's head (`head` is what came after it)
    const readAtStart = (socket as Socket).bytesRead - head.length
    socket.on('error', () => socket.destroy())
    // tracked from here, not only once tunnelled: a handshake still waiting for its 101 must not hold shutdown open
    opts.tunnels.take(socket)
    // Pipelined behind requests still being answered: it waits its turn, as a request does (src/proxy/forward.ts),
    // so its 101 or refusal is not written into the middle of their answers, and it is never acted on if one of
    // them closes the connection (RFC 9112 §9.3.2, §9.6). A client that leaves first gets one 499 line.
    // (read now: a connection that closes before its turn may no longer name its peer)
    const clientIp = opts.clientIp(req, socket as Socket)
    afterAnswersOwed(socket as ServerSocket, head, (early) => handle(req, socket, early, startedAt, readAtStart, clientIp), () => {
      // cut by the shutdown before its turn: 503 shutdown_cut, counted as a refusal (no route took it yet)
      if (opts.cutting?.() === true) {
        opts.refusals?.refused('shutdown_cut')
        return opts.logger.info({ requestId: requestIdOf(req), clientIp, method: req.method, path: loggedTargetPath(req.url), status: ERRORS.shutdown_cut.status, upgrade: true, durationMs: hundredths(performance.now() - startedAt), ...connectionBytes(socket, readAtStart), attempts: 0, ...SHUTDOWN_CUT }, 'request')
      }
      // its client left first: counted as its 499 line is, before any route took it
      opts.refusals?.refused('client_closed')
      opts.logger.info({ requestId: requestIdOf(req), clientIp, method: req.method, path: loggedTargetPath(req.url), status: 499, upgrade: true, durationMs: hundredths(performance.now() - startedAt), ...connectionBytes(socket, readAtStart), attempts: 0, aborted: true }, 'request')
    })
  }
}

/** An Expect with 100-continue, as Node's server reads it for a request (its continueExpression). */
const EXPECTS_CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i

/** A refusal's Retry-After when no target could take the upgrade. */
const RETRY_SOON: Record<string, string> = { 'retry-after': '1' }

/** The access-log field of an upgrade the shutdown's timeout cut. */
const SHUTDOWN_CUT = { error: 'shutdown_cut' } as const

/** Refuses an upgrade before its admission (the connection closes), with its access-log line. */
function refuseUnadmitted (opts: Pick<UpgradeOptions, 'logger' | 'refusals'>, req: IncomingMessage, socket: Duplex, clientIp: string, code: ErrorCode, startedAt: number, readAtStart: number, headers: Record<string, string> = {}): void {
  const requestId = requestIdOf(req)
  endAndLinger(socket, rawErrorAnswer(code, requestId, headers))
  opts.refusals?.refused(code)
  opts.logger.info({ requestId, clientIp, method: req.method, path: loggedTargetPath(req.url), status: ERRORS[code].status, upgrade: true, durationMs: hundredths(performance.now() - startedAt), ...connectionBytes(socket, readAtStart), attempts: 0, error: code }, 'request')
}

/**
 * An upgrade's bytes, as a request's line counts its own: in, what the client sent after the handshake's head (a
 * tunnel's data; a request's body); out, what was written to it since the connection's previous line (the 101 or
 * refusal and the tunnel's data; an answer just ended counts, still queued or not). Earlier requests on the same
 * connection are their own lines'.
 */
function connectionBytes (socket: Duplex, readAtStart: number): { bytesIn: number; bytesOut: number } {
  return { bytesIn: (socket as Socket).bytesRead - readAtStart, bytesOut: bytesWrittenSinceLastLine(socket as Socket) }
}

/** Milliseconds to two decimals, as a request's line has them (src/proxy/access-log.ts). */
function hundredths (ms: number): number {
  return Math.round(ms * 100) / 100
}

/**
 * CONNECT (authority-form, RFC 9110 §9.3.6) asks for a tunnel to an address the client names: the gateway opens
 * none. Without a listener Node closed the connection with no answer; it is now a 501 method_not_implemented that
 * closes the connection, as for other methods the gateway does not implement (HAProxy answers 502, nginx 400),
 * written once the answers owed before it on the connection are.
 */
export function createConnectHandler (opts: Pick<UpgradeOptions, 'logger' | 'tunnels' | 'refusals' | 'clientIp'>): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const startedAt = performance.now()
    const requestId = requestIdOf(req)
    const clientIp = opts.clientIp(req, socket as Socket)
    const log = (status: number, extra: Record<string, unknown>): void => {
      opts.logger.info({ requestId, clientIp, method: req.method, path: loggedTargetPath(req.url), status, durationMs: hundredths(performance.now() - startedAt), ...extra }, 'request')
    }
    socket.on('error', () => socket.destroy())
    opts.tunnels.take(socket)
    afterAnswersOwed(socket as ServerSocket, head, () => {
      endAndLinger(socket, rawErrorAnswer('method_not_implemented', requestId))
      opts.refusals?.refused('method_not_implemented')
      log(ERRORS.method_not_implemented.status, { error: 'method_not_implemented' })
    }, () => {
      opts.refusals?.refused('client_closed')
      log(499, { aborted: true })
    })
  }
}

/** A client connection as Node's HTTP server leaves it: the response it is writing, until that one is done. */
type ServerSocket = Duplex & { _httpMessage?: ServerResponse | null; _paused?: boolean }

/**
 * Runs `go` once no answer to an earlier request on this connection is still owed (Node gives the connection to
 * the next queued response in the one before's 'finish', and clears it after the last), or `gone` if the
 * connection closes first. Node stopped reading the connection at the upgrade; while it waits it reads on, so
 * that a client that leaves is seen, and keeps what arrives for the tunnel.
 */
function afterAnswersOwed (socket: ServerSocket, head: Buffer, go: (head: Buffer) => void, gone: () => void): void {
  if (socket.destroyed) return gone()
  if (socket._httpMessage == null) return go(head)
  // kept as the chunks came, joined once: joining on each would copy what is kept again for every chunk
  const early = [head]
  let earlyBytes = head.length
  const keep = (chunk: Buffer): void => {
    early.push(chunk)
    earlyBytes += chunk.length
    if (earlyBytes > MAX_EARLY_BYTES) socket.destroy()
  }
  const leave = (): void => { socket.destroy() }
  // Node's server passed the connection's 'drain' on to the response it is writing (socketOnDrain), which a
  // response paused for a slow reader waits for (src/proxy/attempt.ts); it stopped listening at the upgrade
  const drain = (): void => {
    const owed = socket._httpMessage
    if (owed != null && owed.writableNeedDrain) owed.emit('drain')
  }
  socket.on('data', keep)
  socket.once('end', leave)
  socket.on('drain', drain)
  const stopWaiting = (): void => {
    socket.off('data', keep)
    socket.off('end', leave)
    socket.off('drain', drain)
  }
  const check = (): void => {
    // an answer before it closed the connection (Connection: close, or shutdown's drain): ending, not yet destroyed
    if (socket.destroyed || !socket.writable) {
      stopWaiting()
      return gone()
    }
    const owed = socket._httpMessage
    if (owed != null) return void owed.once('close', check)
    stopWaiting()
    // Node's backpressure flag (src/proxy/pipelining.ts) would keep a tunnel from reading: the server that clears
    // it let go of this connection at the upgrade
    socket._paused = false
    restartRead(socket)
    socket.pause()
    go(early.length === 1 ? head : Buffer.concat(early, earlyBytes))
  }
  check()
}

/** What makes a WebSocket opening handshake invalid (RFC 6455 §4.1, §4.2.1), or undefined. */
function handshakeProblem (req: IncomingMessage): 'key' | 'version' | 'method' | 'body' | undefined {
  if (req.method !== 'GET' || req.httpVersion !== '1.1') return 'method'
  // A body: the new protocol would start only after it (RFC 9110 §7.8), but Node hands it over as the tunnel's first
  // bytes, and the upstream would read it as WebSocket frames. A handshake has none (RFC 6455 §4.1).
  if (announcesBody(req)) return 'body'
  // a base64-encoded 16-byte nonce; repeated headers arrive joined with ', ' and fail the pattern
  if (!WEBSOCKET_KEY.test(String(req.headers['sec-websocket-key'] ?? ''))) return 'key'
  if (req.headers['sec-websocket-version'] !== '13') return 'version'
  return undefined
}

const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/
