// One access-log line per request, written when the client's response closes.
import type { Socket } from 'node:net'
import pino, { type Logger } from 'pino'
import { ERRORS } from '../errors.ts'
import { writesPlainJson } from '../logger.ts'
import type { Exchange } from './exchange.ts'

const INFO = 30
const { streamSym, chindingsSym } = pino.symbols

export function logExchange (logger: Logger, ex: Exchange): void {
  if (logger.levelVal > INFO) return
  const tried = ex.tried
  // the target is ex.pool's only if that pool made the last attempt: a split read that fell back to a primary that
  // could not serve it tried only replicas, and the line must not pair the primary with a replica's target
  const last = tried.length > ex.triedBefore ? tried[tried.length - 1] : undefined
  // '' for a request refused before its path was read (uri_too_long, a shutdown cut, a client that left)
  const path = ex.path || loggedTargetPath(ex.req.url)
  const status = loggedStatus(ex)
  const elapsedMs = performance.now() - ex.startedAt
  const bytesIn = ex.bytesIn
  const bytesOut = bytesWrittenSinceLastLine(ex.socket, ex.bytesWrittenAtFinish)
  const aborted = (ex.clientGone && ex.parserStatus === undefined && !ex.cutByShutdown) || undefined
  if (!writesPlainJson(logger)) {
    logger.info({
      requestId: ex.requestId, clientIp: ex.clientIp, method: ex.method, path, route: ex.route?.label, pool: ex.pool?.name, target: last?.url,
      status, durationMs: Math.round(elapsedMs * 100) / 100, bytesIn, bytesOut, attempts: tried.length, targets: tried.length > 1 ? tried.map((t) => t.url) : undefined,
      error: ex.errorCode, upstreamError: ex.upstreamErrorCode, aborted,
    }, 'request')
    return
  }
  // The line pino would write for logger.info({ requestId, … }, 'request'), fields in the same order and
  // undefined ones left out, built as one string: pino's generic serialiser walks the object key by key.
  // request ids are [A-Za-z0-9._-] (checked, or generated), client addresses are IP literals (the socket's, or one
  // X-Forwarded-For names, checked by canonicalIp) or 'unknown', methods are tokens from Node's parser and error codes
  // are the gateway's own identifiers: none needs escaping. Route, pool and target names come from the config
  // and are escaped once per object; only the path is escaped per request.
  let line = `{"level":30,"time":${epochMsText()}${(logger as unknown as Record<symbol, string>)[chindingsSym]},"requestId":"${ex.requestId}","clientIp":"${ex.clientIp}","method":"${ex.method}","path":${JSON.stringify(path)}`
  if (ex.route !== undefined) line += escapedOnce(ex.route, 'route', ex.route.label)
  if (ex.pool !== undefined) line += escapedOnce(ex.pool, 'pool', ex.pool.name)
  if (last !== undefined) line += escapedOnce(last, 'target', last.url)
  line += `,"status":${status},"durationMs":${hundredthsText(elapsedMs)},"bytesIn":${bytesIn},"bytesOut":${bytesOut},"attempts":${tried.length}`
  if (tried.length > 1) line += `,"targets":${JSON.stringify(tried.map((t) => t.url))}`
  if (ex.errorCode !== undefined) line += `,"error":"${ex.errorCode}"`
  if (ex.upstreamErrorCode !== undefined) line += `,"upstreamError":"${ex.upstreamErrorCode}"`
  if (aborted) line += ',"aborted":true'
  ;(logger as unknown as Record<symbol, { write (s: string): unknown }>)[streamSym]!.write(`${line},"msg":"request"}\n`)
}

const ABSOLUTE_FORM_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/

/**
 * A request target as the access log shows one that was never routed (src/proxy/front.ts, bad_path): as a routed
 * path is logged, without its query or fragment, nor an absolute-form target's scheme and authority. The query
 * carries access tokens, API keys and OAuth codes, and the authority may carry `user:password@`; the path is kept, as
 * sent (it could not be normalised), so the line still says what was refused.
 */
export function loggedTargetPath (rawUrl: string | undefined): string {
  if (rawUrl === undefined) return ''
  let path = rawUrl
  const end = path.search(QUERY_OR_FRAGMENT)
  if (end !== -1) path = path.slice(0, end)
  // any scheme, any authority (userinfo, an invalid host): the authority ends at the first '/', '?' or '#' (RFC 3986 §3.2)
  if (path.charCodeAt(0) !== 47 /* / */) {
    const m = ABSOLUTE_FORM_PREFIX.exec(path)
    if (m !== null) path = path.slice(m[0].length) || '/'
    // CONNECT's authority-form target: its userinfo, if a client sent one
    else if (path.indexOf('@') !== -1 && path.indexOf('/') === -1) path = path.slice(path.lastIndexOf('@') + 1)
  }
  return path
}

const QUERY_OR_FRAGMENT = /[?#]/

/**
 * The status a request is logged and counted with: the answer's, the one Node's parser wrote itself, 503 for one the
 * shutdown cut before its answer began (shutdown_cut), or 499 (nginx's) for a client that left before it: what the
 * client got (an answer queued behind pipelined ones and never written never began: Exchange.answerBegan).
 */
export function loggedStatus (ex: Exchange): number {
  if (ex.parserStatus !== undefined) return ex.parserStatus
  if (ex.answerBegan) return ex.res.statusCode
  return ex.cutByShutdown ? ERRORS.shutdown_cut.status : CLIENT_CLOSED_REQUEST
}

/** nginx's status for a request whose client closed the connection before the answer. */
const CLIENT_CLOSED_REQUEST = 499

// Number to text is most of a line's cost: a 13-digit epoch and a fractional duration go through V8's double
// formatting. Requests within one millisecond share the epoch's text; the duration is printed from integers.
let lastEpochMs = 0
let lastEpochText = '0'

function epochMsText (): string {
  const now = Date.now()
  if (now !== lastEpochMs) {
    lastEpochMs = now
    lastEpochText = String(now)
  }
  return lastEpochText
}

/** A non-negative number rounded to two decimals, as JSON.stringify prints that rounding (0.5, 12.25, 3). */
export function hundredthsText (value: number): string {
  const hundredths = Math.round(value * 100)
  if (!Number.isSafeInteger(hundredths) || hundredths < 0) return String(value)
  const whole = Math.floor(hundredths / 100)
  const fraction = hundredths - whole * 100
  if (fraction === 0) return `${whole}`
  return fraction % 10 === 0 ? `${whole}.${fraction / 10}` : `${whole}.${fraction < 10 ? '0' : ''}${fraction}`
}

const fragments = new WeakMap<object, string>()

/** `,"<key>":<value as JSON>` for a config object (a route, pool or target), built on its first request. */
function escapedOnce (owner: object, key: string, value: string): string {
  let fragment = fragments.get(owner)
  if (fragment === undefined) fragments.set(owner, fragment = `,"${key}":${JSON.stringify(value)}`)
  return fragment
}

const LOGGED_UNTIL = Symbol('switchyard.bytesWrittenLogged')
type MarkedSocket = Socket & { [LOGGED_UNTIL]?: number }

/**
 * Bytes written to the client's connection since the previous access-log line of that connection: this
 * response's head and body (and a 100 Continue before it). Responses on a connection are written one after another,
 * each logged once it has closed (a pipelined one's end is read at its 'finish': Exchange.bytesWrittenAtFinish).
 * Node's bytesWritten getter copies the socket's write queue, so it is read once per request rather than at its
 * start and at its end.
 */
export function bytesWrittenSinceLastLine (socket: MarkedSocket, total = socket.bytesWritten): number {
  const before = socket[LOGGED_UNTIL] ?? 0
  socket[LOGGED_UNTIL] = total
  return total - before
}
