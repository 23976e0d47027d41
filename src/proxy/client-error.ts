// What a connection gets when Node's parser refuses it before there is a request: malformed bytes, headers over
// server.maxHeaderBytes, or headersTimeoutMs / requestTimeoutMs run out (slowloris). Replaces Fastify's
// default handler for two reasons: the answer is the catalogue's JSON error like every other refusal, and the
// socket is destroyed without the error: a stream destroyed with an error formats its stack trace, which was a
// third of the CPU spent per timed-out connection when 2,000 slowloris connections expire in waves
// (bench/hardening-results.md).
import type { Socket } from 'node:net'
import type { ErrorCode } from '../errors.ts'
import { exchangeOf } from './exchange.ts'
import { lastWaiting } from './pipelining.ts'
import { endAndLinger, httpDate, rawErrorAnswer } from './raw-response.ts'

/** The whole answer per code, encoded once a second (its Date): these arrive in bursts, one per expiring connection. */
const ANSWERS = new Map<ErrorCode, { date: string; bytes: Buffer }>()

function answer (code: ErrorCode): Buffer {
  const date = httpDate()
  let cached = ANSWERS.get(code)
  if (cached === undefined || cached.date !== date) {
    cached = { date, bytes: Buffer.from(rawErrorAnswer(code, undefined)) }
    ANSWERS.set(code, cached)
  }
  return cached.bytes
}

/**
 * A request line that starts with a method token (RFC 9110 §9.1: tchar, case-sensitive) and a space: Node's parser
 * knows a fixed list of methods and refuses any other (HPE_INVALID_METHOD) before there is a request, but such a
 * request is well-formed, its method only not implemented here (RFC 9110 §15.6.2: 501, not 400).
 */
const EXTENSION_METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /

/** The catalogue code for an error Node's HTTP server reports on a connection (its 'clientError' event). */
export function clientErrorCode (err: { code?: string; rawPacket?: unknown; bytesParsed?: unknown }): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'client_timeout'
  if (err.code === 'HPE_INVALID_METHOD' && isExtensionMethod(err.rawPacket, err.bytesParsed)) return 'method_not_implemented'
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large'
  return 'bad_request'
}

/**
 * Whether the request the parser stopped in starts with a method token and a space. `packet` is the read the parser
 * was given, `at` where in it the parser stopped (inside the method): the request starts after the line before it
 * (requests pipelined ahead of it in the same read, empty lines). A request line that came in pieces shows no space
 * yet: 400, as before.
 */
function isExtensionMethod (packet: unknown, at: unknown): boolean {
  if (!Buffer.isBuffer(packet) || typeof at !== 'number') return false
  // (lastIndexOf counts a negative offset from the end)
  const start = at > 0 ? packet.lastIndexOf(0x0a, at - 1) + 1 : 0
  return EXTENSION_METHOD.test(packet.toString('latin1', start, start + 64))
}

/** What Node's HTTP server keeps on a connection while a response on it is under way (as its own handler reads it). */
type PendingAnswer = { _headerSent?: boolean; writableEnded?: boolean; shouldKeepAlive: boolean; _last?: boolean; req?: { complete: boolean } }
type ServerSocket = Socket & {
  _httpMessage?: PendingAnswer | null
  /** The request whose head the parser read last. */
  parser?: { incoming?: unknown } | null
}

/** Told of each answer the handler writes: the access log and the refusals metric (the admin listener has neither). */
export type ClientErrorReport = (code: ErrorCode, socket: Socket) => void

/**
 * The parser's answer to a request the proxy already has (its body failed to parse, or outlasted
 * requestTimeoutMs), by that request's response: the exchange reports it once, as its own status (not a 499).
 */
export const PARSER_ANSWERS = new WeakMap<object, ErrorCode>()

/** onClientError, telling `report` of each answer it writes. */
export function createClientErrorHandler (report: ClientErrorReport): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => onClientError(err, socket, report)
}

/**
 * Fastify's clientErrorHandler: answer if the socket can still take it, then close it. Bytes a client pipelined
 * behind a request can fail to parse while that request's response is being sent: an answer written then would
 * land in the middle of its body, so the connection is only cut (Node's own handler makes the same check).
 */
export function onClientError (err: Error & { code?: string }, socket: ServerSocket, report?: ClientErrorReport): void {
  // a reset connection is already gone, with nothing to answer; one closing after its last answer reads on (below)
  if (err.code === 'ECONNRESET' || socket.destroyed || lingering.has(socket)) return
  const pending = socket._httpMessage
  // Bytes after a request that closes the connection (RFC 9112 §9.6) are never processed, and need no answer:
  // every request before them, the closing one included, keeps its answer, and the closing one's answer closes the
  // connection (whether it is being written now or still waits its turn). Without an answer under way, the
  // closing request has been answered and the connection is closing.
  if (err.code === 'HPE_CLOSED_CONNECTION') {
    if (pending == null) return void socket.destroy()
    lingerAtClose(socket)
    socket.pause()
    return
  }
  // Bytes pipelined behind requests received whole failed to parse (garbage). They are never processed, but the
  // requests before them keep their answers, the last of which then closes the connection. Answering 400 here
  // would cut the answer in flight.
  // A request whose own body failed to parse is refused below.
  const owed = pending == null ? undefined : lastAnswerOwed(socket, pending)
  if (owed !== undefined && owed._headerSent !== true) {
    owed.shouldKeepAlive = false
    // its head may be stored already (writeHead, not yet sent), keep-alive decided: Node closes the connection
    // after this answer only if it is the last
    owed._last = true
    lingerAtClose(socket)
    socket.pause()
    return
  }
  // The last of them the gateway answered whole at once (Max-Forwards: 0, its own refusal), in the read the parser
  // then failed in: that answer is on its way, with keep-alive. The refusal goes after it, in order, and the
  // connection closes with a lingering close, as the client may not have read the answer yet. (After an answer
  // that closes the connection nothing more is answered.)
  if (owed !== undefined && owed === pending && owed.writableEnded === true && owed.shouldKeepAlive && owed._last !== true &&
    socket.parser?.incoming === owed.req) {
    const code = clientErrorCode(err)
    socket.write(answer(code))
    report?.(code, socket)
    lingering.add(socket)
    endAndLinger(socket)
    return
  }
  // A client that closed its side in the middle of its body has left: no answer, and its exchange logs a 499. (A
  // client gone altogether ends the same way, and Node cannot tell the two apart.)
  if (pending != null && err.code === 'HPE_INVALID_EOF_STATE') return void socket.destroy()
  if (socket.writable && pending?._headerSent !== true) {
    const code = clientErrorCode(err)
    if (pending == null) {
      socket.write(answer(code))
      // a connection that never sent a byte (a preconnect, a TCP check) timing out is no request at all (nginx logs
      // nothing, HAProxy's dontlognull)
      if (socket.bytesRead > 0) report?.(code, socket)
    } else {
      // a request being proxied: its answer names its request id, and its exchange logs and counts it
      socket.write(rawErrorAnswer(code, exchangeOf(pending)?.requestId || undefined))
      PARSER_ANSWERS.set(pending, code)
    }
  }
  socket.destroy()
}

/**
 * The response to the request the parser read last, if that request was received whole: the response under way, or
 * the last one waiting its turn behind it. Failing that, the response under way, if its request was received whole
 * (a refusal written ahead of its turn waits too, untracked: the connection then closes after the answer under way,
 * and the requests between are never sent upstream, as src/proxy/forward.ts sends one at a time).
 */
function lastAnswerOwed (socket: ServerSocket, pending: PendingAnswer): PendingAnswer | undefined {
  const incoming = socket.parser?.incoming
  const last: PendingAnswer | undefined = incoming === pending.req ? pending : lastWaiting(socket)
  if (last !== undefined && last.req === incoming && last.req?.complete === true) return last
  return pending.req?.complete === true ? pending : undefined
}

/** Connections whose last answer is under way, after bytes that will never be processed: they linger as they close. */
const lingering = new WeakSet<Socket>()

/**
 * The bytes the connection was paused on, and any the client sends after them, stay unread; closed with unread
 * bytes, Linux resets the connection, and the client's kernel drops the part of the last answer it had not read
 * yet. Node closes the connection after that answer with destroySoon(): on this connection that becomes a
 * lingering close instead, which ends it, reads and drops what the client still sends, and cuts it after
 * LINGER_MS if the client keeps its half open.
 */
function lingerAtClose (socket: Socket): void {
  if (lingering.has(socket)) return
  lingering.add(socket)
  socket.destroySoon = () => endAndLinger(socket)
}
