// Everything known about one client request while it is proxied; one class so every request has the same shape.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import type { PickContext } from '../balancer/types.ts'
import type { ErrorCode } from '../errors.ts'
import type { RoutePlan } from '../release/plans.ts'
import type { Admission } from '../resilience/breaker.ts'
import type { Route } from '../routing/table.ts'
import type { Clock } from '../runtime.ts'
import type { RouteObserver } from '../state.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { Target } from '../upstream/target.ts'
import type { AttemptResult } from './attempt-result.ts'
import { countBodyBytes, receivedBodyBytes } from './body.ts'
import { hadTurnOnClosedConnection } from './pipelining.ts'

export class Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** Kept: undici detaches req.socket once it has sent a streamed body. */
  readonly socket: Socket
  readonly startedAt: number
  requestId = ''
  /** The client's address, for the access log: admission.clientIp (the peer's, or the client a trusted proxy names). */
  clientIp = ''
  method: string
  /** Normalised path (what was routed). */
  path = ''
  /** Path and query sent upstream. */
  upstreamPath = ''
  route: Route | undefined = undefined
  pool: PoolRuntime | undefined = undefined
  /** Counts this request once it ends (metrics); the request is in flight on it (begin()) until then. */
  observer: RouteObserver | undefined = undefined
  /** The route's split, canary or mirror. */
  plan: RoutePlan | undefined = undefined
  /** Canary routes: the version this request went to. */
  version: 'canary' | 'stable' | undefined = undefined
  /** The canary's epoch when `version` was decided: answers of a build taken off since are not held against it. */
  canaryEpoch = 0
  /** A write through a split route: a successful answer pins the client's reads to the primary. */
  write = false
  /** A read sent to replicas: what serves it if no replica answers (forward.ts #fallBack). */
  readFallback: ReadFallback | undefined = undefined
  headers: string[] = []
  /** Where the target's Host pair sits in `headers` (-1: none; see sendAttempt). */
  targetHostAt = -1
  /** The client's Host, what a pool with preserveHost sends (#rehost when the pool changes). */
  clientHost: string | undefined = undefined
  body: Buffer | Readable | null = null
  /** Whether the body can be sent again (none, or buffered). */
  replayable = true
  idempotencyKey = false
  /** The request declares a body (Content-Length > 0 or chunked). */
  hasBody = false
  /** Declared request body length (undefined when chunked or absent). */
  contentLength: number | undefined = undefined
  /** What the balancer may read of this request. */
  pick: PickContext = NO_KEY
  /** Time on the pool's monotonic clock (runtime.ts monotonicMs) by which response headers must have arrived. */
  deadline = 0
  /** Every target tried, in order (the access log lists them); of the current pool, those after triedBefore. */
  readonly tried: Target[] = []
  /** Attempts made in the pool before this one: a split read's replicas, when the primary serves it (#fallBack). */
  triedBefore = 0
  /**
   * Where in `tried` the attempts that found a stale kept-alive connection are (AttemptResult.stale; at most one per
   * target): those of the current pool are not counted by retry.attempts, every later attempt to their target goes
   * out on a new connection, and their targets are none the request failed on.
   */
  stale: number[] | undefined = undefined
  /** Its error answer came of a stale connection it was not sent again after (a POST): no fault of the version's. */
  lostToStale = false
  /** The status Node's parser answered this request with (its body failed to parse or came too slowly), if it did. */
  parserStatus: number | undefined = undefined
  /** Set once the client went away before the response finished. */
  clientGone = false
  /** The shutdown's timeout closed its connection before the response finished (shutdown_cut, not a client that left). */
  cutByShutdown = false
  /** Counted out and logged (once: a request that waited its turn can be ended by its connection's close too). */
  finished = false
  errorCode: ErrorCode | undefined = undefined
  /** The code of the error the last attempt failed with (ECONNREFUSED, a TLS verification code…), for the access log. */
  upstreamErrorCode: string | undefined = undefined
  /** The proxy itself ended the response early (upstream failed mid-body, or the client stopped reading). */
  cutShortBy: ErrorCode | undefined = undefined
  /** Called once an attempt's answer has begun to go to the client: set for a half-open breaker's probe (forward.ts). */
  answerStarted: ((result: AttemptResult) => void) | undefined = undefined
  /** Admitted by its pool's breaker and not judged yet (resilience/breaker.ts); undefined once judged. */
  breakerAdmission: Admission | undefined = undefined
  /** The attempt in flight, or the retry loop while it waits out a backoff (retry-loop.ts): aborted if the client leaves. */
  attempt: { abort (reason?: Error): void } | undefined = undefined

  /** Shared by every request of a proxy: set once shutdown begins, so answers still to start ask to close. */
  readonly gate: { closing: boolean }

  constructor (req: IncomingMessage, res: ServerResponse, gate: { closing: boolean } = OPEN) {
    this.req = req
    this.res = res
    this.gate = gate
    this.socket = req.socket
    this.method = req.method ?? 'GET'
    this.startedAt = performance.now()
    // Made at the request event, before Node's parser hands over any of the body (even bytes read with the head):
    // only a request that announces a body pays for counting it. Node's parser has built req.headers by now.
    const headers = req.headers
    const length = headers['content-length']
    if (headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) countBodyBytes(req)
    // queued behind the answer holding its connection (pipelined): see markPipelinedAnswers
    if (res.socket === null) markPipelinedAnswers(res, this.socket)
  }

  /** Body bytes received from the client so far (decoded: chunked framing is not counted). */
  get bytesIn (): number { return receivedBodyBytes(this.req) }

  /**
   * The connection's bytesWritten once this response had all been written, if it was read then (a pipelined
   * connection's responses: markPipelinedAnswers); undefined otherwise, when the socket's count now is the same.
   */
  get bytesWrittenAtFinish (): number | undefined {
    const at = (this.res as MarkedResponse)[WRITTEN_AT_FINISH]
    return at !== undefined && at >= 0 ? at : undefined
  }

  /**
   * Whether the client has left: marked so, or its socket no longer writable (destroyed, or its FIN arrived:
   * Node's server then ends it, so no answer can reach it) while its 'close' may still be queued.
   */
  clientLeft (): boolean {
    if (!this.clientGone && this.socket.writable === false) this.clientGone = true
    return this.clientGone
  }

  /**
   * Whether its answer began to go to the client: its head was written to its connection. The status it is logged
   * and counted with hangs on this (access-log.ts loggedStatus, forward.ts #finish). An answer made while the request
   * waited behind pipelined ones (a refusal before routing) sits in the response's own buffer until its turn, and a
   * connection that closes first never carries it, nor does one Node hands it closed (pipelining.ts). (Node gives a
   * response its socket at its turn and takes it back only at its 'finish'.)
   */
  get answerBegan (): boolean {
    const res = this.res
    return res.headersSent && (res.writableFinished || (res.socket !== null && !hadTurnOnClosedConnection(res)))
  }

  /** Attempts in the current pool. */
  get attempts (): number { return this.tried.length - this.triedBefore }

  /** Attempts in the current pool that retry.attempts counts: all but those that found a stale connection. */
  get countedAttempts (): number {
    if (this.stale === undefined) return this.attempts
    let staleHere = 0
    for (const i of this.stale) if (i >= this.triedBefore) staleHere++
    return this.attempts - staleHere
  }

  /** Whether an attempt of this request found a stale connection to `target` (by id: a reload's copy is the same). */
  foundStaleAt (target: Target): boolean {
    return this.stale !== undefined && this.stale.some((i) => this.tried[i]!.id === target.id)
  }

  /** The targets this request failed on, oldest first: every one tried but those of stale connections. */
  failedOn (): readonly Target[] {
    const stale = this.stale
    return stale === undefined ? this.tried : this.tried.filter((_, i) => !stale.includes(i))
  }

  /**
   * The upstream is done, but the end of the answer still waits in the client's socket queue. As while streaming, a
   * client that takes none of it for `idleMs` is cut (client_stalled) rather than holding its connection and this
   * request open for good; one that is still reading is given another `idleMs` each time.
   */
  watchUnsentTail (clock: Clock, idleMs: number): void {
    const res = this.res
    let left = res.writableLength
    const check = (): void => {
      if (res.writableFinished || res.destroyed) return
      if (res.writableLength >= left) return this.cutShort('client_stalled')
      left = res.writableLength
      timer = clock.setTimeout(check, idleMs)
    }
    let timer = clock.setTimeout(check, idleMs)
    res.once('close', () => clock.clearTimeout(timer))
  }

  /** Drops every Host pair (the client's, the last target's) and adds `host` if given: the next pool's own choice. */
  rehost (host: string | undefined): void {
    const headers = this.headers
    if (this.targetHostAt >= 0) headers.length = this.targetHostAt
    this.targetHostAt = -1
    for (let i = headers.length - 2; i >= 0; i -= 2) {
      if (headers[i] === 'host') headers.splice(i, 2)
    }
    if (host !== undefined) headers.push('host', host)
  }

  /** Ends a response whose headers are already out: the only way left to signal a failure. */
  cutShort (code: ErrorCode): void {
    this.cutShortBy = code
    this.errorCode = code
    // An HTTP/1.0 client reads a body without a length to the close (Node chunks only for HTTP/1.1) and takes a FIN
    // for its end: only a reset shows it the cut (RFC 9112 §8). Never for HTTP/1.1, whose framing shows a cut: a
    // reset makes the client's kernel drop what it has not read yet, answers pipelined before this one too.
    if (this.req.httpVersionMinor === 0) {
      try {
        this.socket.resetAndDestroy()
      } catch {} // not a TCP socket: closed below
    }
    this.res.destroy()
  }
}

export const NO_KEY: PickContext = Object.freeze({ hashKey: undefined })

/** Where an exchange rides on its response: one 'close' listener serves every response, and a parser's answer finds it. */
const EXCHANGE = Symbol('switchyard.exchange')

type CarriesExchange = { [EXCHANGE]?: Exchange }

export function carryExchange (res: ServerResponse, ex: Exchange): void {
  (res as ServerResponse & CarriesExchange)[EXCHANGE] = ex
}

/** The exchange a response carries, if the proxy has taken its request (the admin listener's never do). */
export function exchangeOf (res: object): Exchange | undefined {
  return (res as CarriesExchange)[EXCHANGE]
}

/**
 * The pool a split route's read falls back to, and what that pool needs of the request that the replicas' did not:
 * the canary decision, the client's Host (its preserveHost may differ), address (its hash key may differ) and
 * Idempotency-Key (its retry policy may differ).
 */
export interface ReadFallback {
  runtime: PoolRuntime
  version: 'canary' | 'stable' | undefined
  host: string | undefined
  clientIp: string
  /** The client sent an Idempotency-Key. */
  idempotencyKey: boolean
  /**
   * The route's series of the primary pool, bound at admission as every binding is (one made at fallback time, after a
   * reload that removed the route, would export the removed route's series again, for good). The read is in flight on
   * it from admission (begin()), as it may be counted there: a reload that takes the route off the primary before the
   * read falls back retires it rather than detach it. #finish leaves it for a read that never fell back.
   */
  observer: RouteObserver | undefined
}
const OPEN = Object.freeze({ closing: false })

const WRITTEN_AT_FINISH = Symbol('switchyard.bytesWrittenAtFinish')
/** -1: marked, not finished yet; otherwise the connection's bytesWritten once this response had all been written. */
type MarkedResponse = ServerResponse & { [WRITTEN_AT_FINISH]?: number }
/** A client connection as Node's HTTP server keeps it: the response writing to it now. */
type ServerSocket = Socket & { _httpMessage?: ServerResponse | null }

/**
 * Pipelined requests: `res` waits behind the response holding its connection. Node hands the connection to the
 * next queued response in the holder's 'finish' (resOnFinish), and the gateway may write that one's answer there
 * and then, before the holder's 'close' writes its line: the holder's end is read at its 'finish', ahead of Node's
 * own listener. The queued response is marked too, as others may queue behind it. Only pipelined connections pay.
 */
function markPipelinedAnswers (res: ServerResponse, socket: Socket): void {
  markEndAtFinish(res)
  const holder = (socket as ServerSocket)._httpMessage
  if (holder != null) markEndAtFinish(holder)
}

function markEndAtFinish (res: MarkedResponse): void {
  if (res[WRITTEN_AT_FINISH] !== undefined) return
  res[WRITTEN_AT_FINISH] = -1
  res.prependListener('finish', recordEndAtFinish)
}

/** One listener for every response ('finish' passes no arguments: the response is `this`). */
function recordEndAtFinish (this: MarkedResponse): void {
  const socket = this.socket
  if (socket !== null) this[WRITTEN_AT_FINISH] = socket.bytesWritten
}
