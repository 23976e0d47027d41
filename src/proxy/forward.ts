// The hot path: admit (route) → pool's breaker → attempts → stream back, then one access-log line.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { AttemptAborted, ERRORS, GatewayError, renderError, type ErrorCode } from '../errors.ts'
import { PARSER_ANSWERS } from './client-error.ts'
import { NOT_A_PROBE, type Verdict } from '../resilience/breaker.ts'
import { errorCodeOf } from '../resilience/classify.ts'
import { monotonicMs } from '../runtime.ts'
import type { GatewayState, RefusalObserver } from '../state.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import { logExchange, loggedStatus } from './access-log.ts'
import { failureCode, type AttemptResult } from './attempt.ts'
import { announcesBody, limitBody, readBody } from './body.ts'
import { carryExchange, Exchange, exchangeOf, NO_KEY } from './exchange.ts'
import { createAdmit, createClientIp, type Admit, type FrontOptions } from './front.ts'
import { extractHashKey } from './hash-key.ts'
import { mirror } from './mirror.ts'
import { endsWithConnection, requestTakesTurn, requestWaits } from './pipelining.ts'
import { dropBodyAtClose } from './raw-response.ts'
import { requestIdOf } from './request-id.ts'
import { tryTargets } from './retry-loop.ts'
import { newInstanceId } from './via.ts'

const USED = Symbol('switchyard.connectionUsed')

type MarkedSocket = IncomingMessage['socket'] & { [USED]?: true }

/** Marks the request's connection as having carried a request (an upgrade on it after the close is refused). */
function markConnectionUsed (req: IncomingMessage): void {
  (req.socket as MarkedSocket)[USED] = true
}

function hadRequest (req: IncomingMessage): boolean {
  return (req.socket as MarkedSocket)[USED] === true
}

/**
 * No Transfer-Encoding in an answer to a request that does not indicate HTTP/1.1 (RFC 9112 §6.1): Node would chunk
 * one to an HTTP/1.0 request whose TE field lists chunked, and that client would read the chunk sizes as body bytes.
 * A body of unknown length runs to the connection's close instead.
 */
function noChunkedToHttp10 (req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersionMinor === 0) res.useChunkedEncodingByDefault = false
}

const EXPECTS_CONTINUE = Symbol('switchyard.expectsContinue')

type ContinueMarked = ServerResponse & { [EXPECTS_CONTINUE]?: true }

/**
 * Node's 'checkContinue' (src/app.ts): Node read this request's Expect as 100-continue and left the 100 to the
 * gateway. Its own reading, not one made again here: whatever Node so marks, it closes the connection after an
 * answer that went out without a 100, and a client that waits for one must hear it.
 */
export function markExpectsContinue (res: ServerResponse): void {
  (res as ContinueMarked)[EXPECTS_CONTINUE] = true
}

export interface ProxyOptions extends FrontOptions {
  logger: Logger
  /** Longest request target; longer ones are answered 414. */
  maxUrlBytes?: number
  /** Counts the answers given before any route took the request (a route's series count the rest). */
  refusals?: RefusalObserver
}

/**
 * serving → draining (answers carry Connection: close) → closed (the listener is closed: requests are still served,
 * with Connection: close; a WebSocket upgrade on a connection kept alive since before gets 503 shutting_down) →
 * cutting (shutdown.timeoutMs ran out: the connections left are being closed, and the requests they carried are
 * the gateway's cut, shutdown_cut, not clients that left).
 */
export type ProxyPhase = 'serving' | 'draining' | 'closed' | 'cutting'

export class ProxyHandler {
  #state: GatewayState
  readonly #logger: Logger
  readonly #refusals: RefusalObserver | undefined
  /** This gateway instance's id in its Via entries (src/proxy/via.ts): the same across reloads, so a loop is still found. */
  readonly #instanceId = newInstanceId()
  #admit: Admit
  /** The client's address for the line of a request never admitted (one that was has admission.clientIp). */
  #clientIp: (req: IncomingMessage, socket: IncomingMessage['socket']) => string
  #maxUrlBytes: number
  #phase: ProxyPhase = 'serving'
  readonly #gate = { closing: false }
  #active = 0
  #onIdle: (() => void) | undefined

  constructor (state: GatewayState, options: ProxyOptions) {
    this.#state = state
    this.#logger = options.logger
    this.#refusals = options.refusals
    this.#admit = createAdmit(options, this.#instanceId)
    this.#clientIp = createClientIp(options)
    this.#maxUrlBytes = options.maxUrlBytes ?? Infinity
  }

  get state (): GatewayState { return this.#state }
  /** Atomically replaces routes and pools; requests already in flight keep what they started with. */
  setState (state: GatewayState): void { this.#state = state }

  /** The shared front half, for the WebSocket path. */
  get admit (): Admit { return this.#admit }
  /** server.maxUrlBytes in force (Infinity: none), for the WebSocket path. */
  get maxUrlBytes (): number { return this.#maxUrlBytes }

  /** The client's address as a request's line gives it (an upgrade or CONNECT never admitted: src/proxy/upgrade.ts). */
  clientIpOf (req: IncomingMessage, socket: IncomingMessage['socket']): string {
    return this.#clientIp(req, socket)
  }

  /** A reload's new front-door settings, for the requests that arrive from now on. */
  configureFront (options: FrontOptions & Pick<ProxyOptions, 'maxUrlBytes'>): void {
    this.#admit = createAdmit(options, this.#instanceId)
    this.#clientIp = createClientIp(options)
    this.#maxUrlBytes = options.maxUrlBytes ?? Infinity
  }

  get phase (): ProxyPhase { return this.#phase }
  /** Requests being proxied now. */
  get active (): number { return this.#active }

  /** Shutdown: from 'draining' on, answers ask clients to reconnect (elsewhere); from 'closed' on, kept-alive connections' upgrades are refused. */
  setPhase (phase: ProxyPhase): void {
    this.#phase = phase
    this.#gate.closing = phase !== 'serving'
  }

  /** Shutdown: whether an upgrade must be refused (closed, and its connection was kept alive since before). */
  refusesUpgrade (req: IncomingMessage): boolean {
    return (this.#phase === 'closed' || this.#phase === 'cutting') && hadRequest(req)
  }

  /** Answers a request the gateway will not take now (overload), with the JSON error and an access-log line. */
  readonly refuse = (req: IncomingMessage, res: ServerResponse, code: ErrorCode, retryAfterSeconds?: number): void => {
    markConnectionUsed(req)
    noChunkedToHttp10(req, res)
    const ex = new Exchange(req, res)
    ex.requestId = requestIdOf(req)
    if (this.#track(ex)) return
    // no body to be told to send: 100 Continue as #start says it, so Node keeps the connection (an overloaded
    // gateway that closed it would make the client reconnect, more work, not less)
    if ((res as ContinueMarked)[EXPECTS_CONTINUE] === true && !announcesBody(req)) res.writeContinue()
    this.#sendError(ex, code, undefined, retryAfterSeconds)
  }

  /**
   * Counts the exchange in and ends it when its response closes. True when the client has already gone (its
   * socket destroyed before the request got here, e.g. a gateway running behind): nothing is sent upstream for
   * it. A response whose 'close' has already fired is finished now, as no listener will hear it again.
   */
  #track (ex: Exchange): boolean {
    this.#active++
    const { res } = ex
    if (res.closed) {
      ex.clientGone = true
      this.#finish(ex)
      return true
    }
    // Shutting down, the listener closed or not, a request that arrives is served and its answer closes the
    // connection (as Envoy and HAProxy drain), the gateway's own refusals too: its client could not know. The last
    // answer it had came before the drain, without Connection: close (it, or this process, may have stalled through
    // delayMs), and a refusal would fail a request it was entitled to send. A request pipelined behind another waits
    // its turn, and the answer before it closes the connection, so it never goes upstream.
    if (this.#phase !== 'serving') res.setHeader('connection', 'close')
    // one listener shared by every response (the exchange rides on the response): no closure per request
    carryExchange(res, ex)
    res.on('close', this.#onClose)
    // queued behind answers still owed on its connection (pipelined): its connection's close ends it too
    if (res.socket === null) endsWithConnection(ex.socket, res, () => this.#finish(ex))
    return ex.clientLeft()
  }

  readonly #onClose: (this: ServerResponse) => void = (() => {
    const finish = (ex: Exchange): void => this.#finish(ex)
    // 'close' passes no arguments: the response is `this`
    return function (this: ServerResponse) { finish(exchangeOf(this)!) }
  })()

  /** Resolves once no request is in flight. */
  idle (): Promise<void> {
    if (this.#active === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const previous = this.#onIdle
      this.#onIdle = () => { previous?.(); resolve() }
    })
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    markConnectionUsed(req)
    noChunkedToHttp10(req, res)
    const ex = new Exchange(req, res, this.#gate)
    if (res.closed || ex.clientLeft()) ex.requestId = requestIdOf(req) // for its access-log line
    if (this.#track(ex)) return
    try {
      if ((req.url?.length ?? 0) > this.#maxUrlBytes) {
        ex.requestId = requestIdOf(req)
        // refused before the front half has checked its framing: nothing after it on the connection is trusted
        return this.#sendError(ex, 'uri_too_long', undefined, undefined, true)
      }
      // Pipelined behind a request still being answered (Node gives a response its socket only once those before
      // it are done): it waits its turn, as HAProxy and nginx have it. Sent upstream now, it would run out of order
      // with the one before (RFC 9112 §9.3.2 allows that only for safe methods), and with no one to hear it if
      // that one's answer closes the connection (§9.6). If the connection closes first, its response's 'close'
      // finishes the exchange as a client that left.
      // While it waits, its connection is not read on (src/proxy/pipelining.ts).
      if (res.socket === null) return this.#waitTurn(ex)
      this.#start(ex)
    } catch (err) {
      this.#sendError(ex, 'internal_error', err)
    }
  }

  #waitTurn (ex: Exchange): void {
    const socket = ex.socket
    // for its access-log line if it ends before its turn (its admission sets it again, the same if the client sent one)
    ex.requestId = requestIdOf(ex.req)
    requestWaits(socket, ex.res)
    ex.res.once('socket', () => {
      requestTakesTurn(socket)
      this.#startInTurn(ex)
    })
  }

  #startInTurn (ex: Exchange): void {
    try {
      if (!ex.clientLeft()) this.#start(ex)
    } catch (err) {
      this.#sendError(ex, 'internal_error', err)
    }
  }

  #start (ex: Exchange): void {
    const { req } = ex
    const admission = this.#admit(req, this.#state)
    const { facts } = admission
    ex.headers = admission.headers
    ex.requestId = admission.requestId
    ex.clientIp = admission.clientIp
    ex.path = admission.path
    ex.hasBody = facts.chunked || (facts.contentLength !== undefined && facts.contentLength !== '0')
    const expectsContinue = (ex.res as ContinueMarked)[EXPECTS_CONTINUE] === true
    // No body to be told to send: 100 Continue at once, whatever the answer (Node would close the connection after
    // an answer without it, and drop the requests pipelined behind).
    if (expectsContinue && !ex.hasBody) ex.res.writeContinue()
    const runtime = admission.runtime
    // Connection: close wins over keep-alive, on HTTP/1.0 too (RFC 9112 §9.6; Node's parser lets keep-alive win there)
    if (facts.connectionClose === true) ex.res.shouldKeepAlive = false
    if (admission.refusal !== undefined || runtime === undefined) return this.#sendError(ex, admission.refusal ?? 'no_route', undefined, undefined, admission.malformed)
    ex.route = admission.route
    ex.pool = runtime
    ex.clientHost = facts.host
    // the route's series of the pool that serves it (a canary's, a replica's: not always the route's own)
    ex.observer = admission.route && this.#state.observers?.get(admission.route, runtime.name)
    // in flight on it until #finish counts it (a reload that takes the route off the pool keeps its series till then)
    ex.observer?.begin()
    ex.plan = admission.plan
    ex.version = admission.version
    ex.canaryEpoch = admission.canaryEpoch
    ex.write = admission.write
    const fallback = admission.fallback && this.#state.pools.get(admission.fallback.pool)
    if (fallback !== undefined) {
      ex.readFallback = {
        runtime: fallback, version: admission.fallback!.version, host: facts.host, clientIp: admission.clientIp, idempotencyKey: facts.idempotencyKey,
        observer: admission.route && this.#state.observers?.get(admission.route, fallback.name),
      }
      // in flight there too from now, as it may be counted there: a reload that takes the route off the primary before
      // the read falls back must keep that series (retired, not detached). #fallBack moves it; #finish leaves if unused.
      ex.readFallback.observer?.begin()
    }
    ex.upstreamPath = admission.upstreamPath
    if (admission.answerHere) return answerAsRecipient(ex)
    ex.idempotencyKey = facts.idempotencyKey && runtime.config.retry.idempotencyKey
    if (runtime.hashKey !== undefined) ex.pick = { hashKey: extractHashKey(runtime.hashKey, req, admission.clientIp) }
    const clock = runtime.clock
    ex.deadline = monotonicMs(clock) + runtime.config.timeouts.requestMs

    // the pool's bound on requests in flight (connections.maxRequests): refused before any attempt, and before its
    // body is read or asked for (no 100 Continue), so a pool of stuck targets cannot hold the process's sockets
    if (!runtime.budget.tryStartRequest()) {
      // a split read whose replicas are full goes to the primary, as one with no replica available does (a read with
      // a body not read yet cannot: it is refused)
      if (!ex.hasBody && this.#fallBack(ex, undefined)) return
      return this.#refuseBusy(ex)
    }
    if (!ex.hasBody) {
      return this.#forward(ex, runtime)
    }
    const length = facts.chunked ? Infinity : Number(facts.contentLength)
    if (!facts.chunked) ex.contentLength = length
    const maxBody = admission.route?.maxBodyBytes
    if (maxBody !== undefined && !facts.chunked && length > maxBody) {
      runtime.budget.requestFinished()
      return this.#sendError(ex, 'body_too_large')
    }
    const maxBuffer = runtime.config.retry.maxBufferBytes
    // no upstream connection until the body (or its first maxBufferBytes) is here; a chunked body over the
    // route's limit is refused as soon as it shows (readBody gives a chunked body up once a byte past `limit`
    // arrives; at least 1, so a route that takes no body still reads the first byte before refusing it)
    const limit = maxBody !== undefined && facts.chunked ? Math.min(maxBuffer, Math.max(maxBody, 1)) : maxBuffer
    // routed, admitted, within its route's limit and with its pool taking requests: now the client may send the body
    // (RFC 9110 §10.1.1). A request refused before this never hears 100 Continue, and Node closes its connection
    // after the refusal. (Node asks only for HTTP/1.1: an HTTP/1.0 client's expectation is ignored, §10.1.1.)
    if (expectsContinue && !this.#continues(ex, runtime)) return
    readBody(req, length, limit, Math.max(1, ex.deadline - monotonicMs(clock)), clock).then((start) => {
      if (maxBody !== undefined && start.bytes.length > maxBody) {
        runtime.budget.requestFinished()
        return this.#sendError(ex, 'body_too_large')
      }
      // replayable: a body held whole (within maxBufferBytes, whatever its framing) that policy may retry, or a read
      // of a split route, which the primary serves when no replica does (#fallBack) whatever the replica pool's retry
      // policy (a POST in reads.methods, a replica pool with retry.attempts 1)
      ex.replayable = start.complete && (runtime.retry.mayRetry(ex.method, ex.idempotencyKey) || ex.readFallback !== undefined)
      if (start.complete) ex.body = start.bytes
      // the prefix went back into req: it streams from the first byte; a chunked body on a route with a size
      // limit is counted as it streams
      else ex.body = maxBody !== undefined && facts.chunked ? limitBody(req, maxBody, () => refuseBody(ex)) : req
      // the time the client took to send the body is not the upstream's: its deadline starts now (a streamed
      // upload's restarts once it has been sent, attempt.ts)
      ex.deadline = monotonicMs(clock) + runtime.config.timeouts.requestMs
      return this.#forward(ex, runtime)
    }, (err: unknown) => {
      runtime.budget.requestFinished()
      if (!ex.clientGone) this.#sendError(ex, err instanceof GatewayError ? err.code : 'bad_request')
    })
  }

  /**
   * 503 pool_busy, and the connection closed after it (a body not read yet is read and dropped first): a client told
   * to come back in a second holds no listener slot meanwhile. Kept alive, each client of a pool of stuck targets held
   * one for the whole keep-alive time, and a few thousand of them took every slot server.maxConnections allows (or
   * every descriptor), refusing the other pools' clients (review r43j).
   */
  #refuseBusy (ex: Exchange): void {
    this.#sendError(ex, 'pool_busy', undefined, 1, !ex.hasBody || ex.req.complete)
  }

  /**
   * Says 100 Continue, or, when the pool's breaker is open or it has no target available, refuses the request now,
   * its body unread (the connection closes after the refusal, as after a 413): the request would be refused once
   * its body arrived. (A cheap look, not the breaker's admission: that is #throughPool's, once the body is here.)
   */
  #continues (ex: Exchange, runtime: PoolRuntime): boolean {
    if (!runtime.breaker.allows()) {
      this.#circuitOpen(ex, runtime)
      return false
    }
    if (runtime.pool.available().length === 0) {
      runtime.budget.requestFinished()
      this.#sendError(ex, 'no_available_target', undefined, 1)
      return false
    }
    ex.res.writeContinue()
    return true
  }

  /**
   * One request through the pool's breaker. The breaker judges whole requests: a request that failed on a
   * primary but succeeded on a retry (another target, or the standby) was served, and must not trip it.
   */
  #forward (ex: Exchange, runtime: PoolRuntime): void {
    const plan = ex.plan
    // gone while its body was read, its 'close' perhaps not yet heard: nobody waits for an answer, nothing to mirror
    if (!ex.clientLeft() && plan?.mirror !== undefined && plan.mirrorThis()) {
      mirror(ex, plan, this.#state.pools.get(plan.mirror.pool), (outcome) => plan.reportMirror(outcome))
    }
    return this.#throughPool(ex, runtime)
  }

  /**
   * A read of a split route that no replica answered (all refused, reset, timed out, or none available) is
   * served by the primary instead of failing: replicas are copies, the primary has the data too.
   */
  #fallBack (ex: Exchange, last: AttemptResult | undefined): boolean {
    const fallback = ex.readFallback
    if (fallback === undefined || ex.clientGone || (last?.responded ?? false) || !ex.replayable) return false
    if (ex.errorCode === 'bad_request' || ex.errorCode === 'request_timeout') return false
    // the primary pool running now, as a retry picks (retry-loop.ts): one a reload rebuilt since the read was
    // admitted has retired, its targets closed. A primary pool the reload removed has none to give.
    const primary = this.#state.pools.get(fallback.runtime.name)
    if (primary === undefined) return false
    ex.readFallback = undefined
    // the request as the primary would have had it: its own Host, idempotency and hash key, and its own requestMs
    // from now (the replicas' attempts are bounded by their perTryTimeoutMs; what they took may exceed the primary's
    // whole requestMs, which must not send it an attempt already out of time)
    ex.deadline = monotonicMs(primary.clock) + primary.config.timeouts.requestMs
    ex.version = fallback.version
    ex.pool = primary
    ex.rehost(primary.config.preserveHost ? fallback.host : undefined)
    ex.idempotencyKey = fallback.idempotencyKey && primary.config.retry.idempotencyKey
    ex.pick = primary.hashKey === undefined ? NO_KEY : { hashKey: extractHashKey(primary.hashKey, ex.req, fallback.clientIp) }
    // the replicas' binding will not count it; the primary's, begun at admission, will
    ex.observer?.leave()
    ex.observer = fallback.observer
    // the primary's first attempt: not a retry of the replicas' (no budget slot, no retry counted, its own attempts)
    ex.triedBefore = ex.tried.length
    ex.plan?.readToPrimary('fallback')
    // a primary already at its maxRequests refuses it, as an open breaker or no available target of the primary's
    // does: the primary's answer (503 pool_busy), not the replica's failure
    if (primary.budget.tryStartRequest()) this.#throughPool(ex, primary)
    else this.#refuseBusy(ex)
    return true
  }

  /**
   * Sends the request through `runtime` (its ex.pool): admitted by the breaker, then attempts at its targets. The
   * breaker judges the whole request (every attempt) once it is over, or a half-open probe once its answer begins:
   * a streamed answer (SSE, a long download) must not keep the pool refusing while it streams. (A failure later in
   * its body still counts for outlier detection, not for this breaker.)
   */
  #throughPool (ex: Exchange, runtime: PoolRuntime): void {
    try {
      if (ex.clientGone) return runtime.budget.requestFinished() // no attempt, so nothing for the breaker to judge
      const admission = runtime.breaker.admit()
      if (admission === undefined) return this.#circuitOpen(ex, runtime)
      ex.breakerAdmission = admission
      // (set or cleared per pool: a split read that fell back must not judge the primary's answer on the replicas')
      ex.answerStarted = admission === NOT_A_PROBE ? undefined : (result) => judge(ex, runtime, result.failure === undefined ? 'success' : 'failure')
      tryTargets(ex, runtime, this.#poolDone, this.#runningPool)
    } catch (err) {
      this.#sendError(ex, 'internal_error', err)
      runtime.budget.requestFinished()
    }
  }

  /** The runtime a pool's name has now: a retry is picked there (retry-loop.ts). */
  readonly #runningPool = (name: string): PoolRuntime | undefined => this.#state.pools.get(name)

  readonly #poolDone = (ex: Exchange, runtime: PoolRuntime, last: AttemptResult | undefined, error?: unknown): void => {
    judge(ex, runtime, error === undefined ? verdictOf(ex, last) : undefined)
    this.#afterPool(ex, runtime, last, error)
  }

  #circuitOpen (ex: Exchange, runtime: PoolRuntime): void {
    try {
      if (!this.#fallBack(ex, undefined)) this.#sendError(ex, 'circuit_open', undefined, runtime.breaker.retryAfterSeconds())
    } catch (err) {
      this.#sendError(ex, 'internal_error', err)
    } finally {
      runtime.budget.requestFinished()
    }
  }

  /** The pool is done with the request: answered, or an error to send (or the primary to fall back to). */
  #afterPool (ex: Exchange, runtime: PoolRuntime, last: AttemptResult | undefined, error?: unknown): void {
    try {
      if (error !== undefined) return this.#sendError(ex, 'internal_error', error)
      if (this.#fallBack(ex, last)) return
      if (last === undefined) {
        if (!ex.clientGone) this.#sendError(ex, 'no_available_target', undefined, 1)
      } else {
        this.#sendAttemptError(ex, last)
      }
    } catch (err) {
      this.#sendError(ex, 'internal_error', err)
    } finally {
      runtime.budget.requestFinished()
    }
  }

  #sendAttemptError (ex: Exchange, result: AttemptResult): void {
    if (ex.clientGone) return
    // an answer the upstream's failure cut short (attempt.ts) failed too: the line says why, as an error answer's does
    if (result.responded) {
      if (result.failure !== undefined) ex.upstreamErrorCode = errorCodeOf(result.error)
      return
    }
    if (result.busy) return this.#sendError(ex, 'upstream_busy', result.error)
    if (result.local) {
      ex.upstreamErrorCode = errorCodeOf(result.error)
      return this.#sendError(ex, 'overloaded', result.error, 1)
    }
    // the client's own fault (a request undici cannot send, a stalled upload)
    if (ex.errorCode === 'bad_request' || ex.errorCode === 'request_timeout' || ex.errorCode === 'body_too_large') return this.#sendError(ex, ex.errorCode, result.error)
    ex.upstreamErrorCode = errorCodeOf(result.error)
    // lost to the keep-alive race (a request not sent again: a POST), not to the upstream: no verdict on its version
    if (result.stale) ex.lostToStale = true
    // a retryable answer dropped for a retry that then found no target (e.g. a 429 in retryOn, the target disabled
    // meanwhile): the upstream answered, as with a failure status, and was not unreachable
    // a stale connection (no failure of the upstream's) with no time left for its try on a new one: the deadline's
    this.#sendError(ex, failureCode(result.failure ?? (result.retryable ? 'status' : result.outOfTime ? 'timeout' : 'reset')), result.error)
  }

  /** `closes`: the request cannot be trusted to end where Node's parser says, so neither can the connection. */
  #sendError (ex: Exchange, code: ErrorCode, cause?: unknown, retryAfterSeconds?: number, closes = false): void {
    ex.errorCode = code
    // refused before admission (too long, overloaded): read now, while its connection is surely open
    if (ex.clientIp === '') ex.clientIp = this.#clientIp(ex.req, ex.socket)
    const { res } = ex
    if (code === 'internal_error') this.#logger.error({ err: cause, requestId: ex.requestId }, 'unexpected error while proxying')
    if (res.headersSent || res.destroyed) {
      res.destroy()
      return
    }
    const answer = renderError(code, ex.requestId, retryAfterSeconds)
    // so would a request body we never read; and once the gateway drains, every answer closes its connection,
    // whenever its request came (decided here, as attempt.ts decides for an upstream's answer)
    const unread = ex.hasBody && !ex.req.complete
    if (closes || unread || ex.gate.closing) answer.headers.connection = 'close'
    // the rest of the body is read and dropped before the close, as after an upstream's early answer: closed with the
    // client's bytes unread, Linux resets the connection and the client never reads this answer (a 413 or 404 to a
    // large upload). Not a request whose framing is in doubt (`closes`): nothing more of it is read.
    if (unread && !closes) dropBodyAtClose(ex.socket, ex.req)
    res.writeHead(answer.status, answer.headers)
    res.end(answer.body)
  }

  #finish (ex: Exchange): void {
    if (ex.finished) return
    ex.finished = true
    // ended while it waited its pipelined turn, or gone on arrival: never admitted
    if (ex.clientIp === '') ex.clientIp = this.#clientIp(ex.req, ex.socket)
    if (!ex.res.writableFinished && ex.cutShortBy === undefined) {
      ex.clientGone = true
      // the parser answered it (client-error.ts): its status and code, not a client that left
      const parserCode = PARSER_ANSWERS.get(ex.res)
      // A refusal made before any route is logged and counted as what the client got (loggedStatus): its own code
      // once its answer began; one queued behind pipelined answers and never written is a request its client left
      // (499 client_closed), or the shutdown cut (503 shutdown_cut), as one that waited its turn unanswered is.
      const refusalSent = ex.route === undefined && ex.errorCode !== undefined && ex.answerBegan
      if (parserCode !== undefined) {
        ex.errorCode = parserCode
        ex.parserStatus = ERRORS[parserCode].status
      } else if (this.#phase === 'cutting') {
        // the shutdown closed its connection (drainAndClose): the gateway's doing, not a client that left
        ex.cutByShutdown = true
        // (a refusal that went out keeps its code: refused_requests_total counts it by that code's status)
        if (!refusalSent) ex.errorCode = 'shutdown_cut'
      } else if (ex.route === undefined && !refusalSent) {
        ex.errorCode = undefined // counted below as client_closed, as its 499 line has it
      }
      ex.attempt?.abort()
    }
    logExchange(this.#logger, ex)
    // canary errors: 5xx answers, failures to reach the pool, and answers the upstream cut short (their status went
    // out first); a client that left, or stopped reading (client_stalled), says nothing of the version, nor does the
    // gateway's own shortage (503 overloaded: out of file descriptors) or limit (503 pool_busy: a burst past the pool's
    // maxRequests, which would roll a healthy canary back), nor a request lost to a stale connection
    if (ex.version !== undefined && !ex.clientGone && ex.errorCode !== 'overloaded' && ex.errorCode !== 'pool_busy' && !ex.lostToStale) ex.plan?.recordVersion(ex.version, ex.res.statusCode < 500 && ex.cutShortBy?.startsWith('upstream_') !== true, ex.canaryEpoch)
    // a split read that never fell back (#fallBack clears readFallback): no longer in flight on the primary's binding
    ex.readFallback?.observer?.leave()
    if (ex.observer !== undefined) {
      ex.observer.request(ex.method, loggedStatus(ex), (performance.now() - ex.startedAt) / 1000)
      if (ex.errorCode !== undefined) ex.observer.error(ex.errorCode)
    }
    // before any route: by its code as settled above, whose status is its line's (a refusal given; a parser's answer;
    // 503 shutdown_cut), or a client that left (waiting its pipelined turn, gone on arrival, or its refusal never
    // written): 499 client_closed. Every line is counted once, as the log has it.
    else if (ex.route === undefined && ex.errorCode !== undefined) this.#refusals?.refused(ex.errorCode)
    else if (ex.route === undefined && ex.clientGone) this.#refusals?.refused('client_closed')
    if (--this.#active === 0 && this.#onIdle !== undefined) {
      const onIdle = this.#onIdle
      this.#onIdle = undefined
      onIdle()
    }
  }
}

/**
 * Fields a TRACE echo leaves out (RFC 9110 §9.3.8: fields likely to hold sensitive data): by name, those that carry
 * credentials under the usual spellings: Authorization, Proxy-Authorization, Cookie, X-Api-Key, X-Auth-Token,
 * X-Csrf-Token, X-Session-Id, X-Amz-Security-Token, X-Goog-Iap-Jwt-Assertion, … An edge proxy may have added one the
 * client never saw. A pattern rather than a list of the fields echoed: TRACE is for seeing what the chain did to a
 * request, custom fields included, and any field with such a name is left out, whoever made it up.
 */
const NOT_ECHOED = /auth|token|key|secret|session|csrf|xsrf|cookie|passw|credential|signature|jwt|assertion/

/**
 * TRACE or OPTIONS whose Max-Forwards reached 0 here: the gateway answers as the final recipient (RFC 9110 §7.6.2).
 * TRACE echoes the request as received (§9.3.8), OPTIONS lists the route's methods (§9.3.7).
 */
function answerAsRecipient (ex: Exchange): void {
  const { req, res } = ex
  const headers: Record<string, string> = { 'x-request-id': ex.requestId }
  if (ex.hasBody && !req.complete) headers.connection = 'close'
  if (req.method === 'OPTIONS') {
    const methods = ex.route?.methods
    res.writeHead(200, { ...headers, allow: methods === undefined ? ALL_METHODS : [...methods].join(', '), 'content-length': '0' })
    res.end()
    return
  }
  let echo = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if (!NOT_ECHOED.test(raw[i]!.toLowerCase())) echo += `${raw[i]}: ${raw[i + 1]}\r\n`
  const body = Buffer.from(`${echo}\r\n`, 'latin1')
  res.writeHead(200, { ...headers, 'content-type': 'message/http', 'content-length': String(body.length) })
  res.end(body)
}

/** The methods a route without a method list takes, for OPTIONS. */
const ALL_METHODS = 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE'

/**
 * What a request its pool is done with tells the breaker: the upstream's failure counts, an answer is a success; no
 * answer that was not its fault says nothing. Nor does a failure whose retry was due when the client left, or its
 * body outgrew the route, during the backoff: the request as a whole was never decided (README: clients that went
 * away never count), and the retry might have been served.
 */
function verdictOf (ex: Exchange, last: AttemptResult | undefined): Verdict {
  if (last === undefined) return undefined
  // (a kept-alive connection dropped while idle, stale, is no failure either: no verdict)
  if (last.failure === undefined) return last.responded ? 'success' : undefined
  return last.retryable && (ex.clientGone || ex.errorCode === 'body_too_large') ? undefined : 'failure'
}

/** The breaker's verdict on a request admitted through it, given once (a probe's may come at its answer's start). */
function judge (ex: Exchange, runtime: PoolRuntime, verdict: Verdict): void {
  const admission = ex.breakerAdmission
  if (admission === undefined) return
  ex.breakerAdmission = undefined
  runtime.breaker.judge(verdict, admission)
}

/**
 * A streamed body crossed the route's maxBodyBytes: the attempt in flight ends (413, or its begun answer is cut),
 * and none follows: one waiting out a retry's backoff would otherwise send the part under the limit as the whole.
 */
function refuseBody (ex: Exchange): void {
  ex.errorCode = 'body_too_large'
  ex.attempt?.abort(AttemptAborted.signal('body_too_large'))
}
