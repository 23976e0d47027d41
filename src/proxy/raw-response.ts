// An HTTP/1.1 answer written straight to a socket, where no ServerResponse exists: the WebSocket upgrade path
// (refusals, a declined upgrade, the 101) and Node's parser refusing bytes before there was a request. And how such
// connections end: a lingering close, also for a connection whose last answer left its request's body unread.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { renderError, type ErrorCode } from '../errors.ts'
import { STATUS_CODES } from '../node-http.ts'
import type { ResponseHeaders } from './headers.ts'

/** How long a refused client may stay silent, its half of the connection open, after the answer went out. */
export const LINGER_MS = 1000
/**
 * How long a lingering close reads in all, however the client keeps sending (nginx's lingering_time, 30 s there: a
 * client that trickles bytes to hold the socket is cut sooner here; a body on its way has time to arrive).
 */
export const LINGER_MAX_MS = 5000

/**
 * Ends a connection that will carry no tunnel: the answer goes out, anything the client sends is read and
 * dropped, and the connection is cut once the client has been silent LINGER_MS (nginx's lingering_timeout), or
 * LINGER_MAX_MS after the answer whatever it sends. A client still sending what it had on the way (a large body on
 * a loaded host) is not cut mid-send: closed with its bytes unread, the connection would be reset, and the client's
 * kernel could drop the answer unread.
 */
export function endAndLinger (socket: Duplex, answer?: string): void {
  socket.resume()
  const endsBy = performance.now() + LINGER_MAX_MS
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  const heard = (): void => { if (performance.now() + LINGER_MS < endsBy) timer.refresh() }
  socket.on('data', heard)
  socket.once('close', () => {
    clearTimeout(timer)
    socket.off('data', heard)
  })
  if (answer === undefined) socket.end()
  else socket.end(answer)
}

/** What Node's HTTP server reads and sets on a request and its connection (lib/_http_incoming.js, _http_server.js). */
type ServerRequest = IncomingMessage & { _dump (): void }
type ServerSocket = Socket & { _paused?: boolean }

/**
 * A connection whose answer went out while its request body was still arriving (the upstream answered before it had
 * read it all): the answer said Connection: close, and Node closes the connection after it with destroySoon(). Closed
 * with the rest of the body unread, Linux would reset it and the client's kernel drop the answer unread; left as it
 * was, the connection would sit paused on the body nobody reads. Instead the rest of the body is read and dropped
 * (as Node drops a body nobody read, req._dump), and the connection ends with a lingering close (RFC 9112 §9.6).
 */
export function dropBodyAtClose (socket: Socket, req: IncomingMessage): void {
  socket.destroySoon = () => {
    ;(req as ServerRequest)._dump()
    // Node's backpressure flag would pause the connection again at once (onSocketResume)
    ;(socket as ServerSocket)._paused = false
    endAndLinger(socket)
  }
}

/**
 * The whole answer for a catalogue error written straight to a socket, with Connection: close and a Date (RFC 9110
 * §6.6.1: the gateway is the origin of its own refusals; Node adds one to every ServerResponse, nobody to these).
 */
export function rawErrorAnswer (code: ErrorCode, requestId: string | undefined, headers: Record<string, string> = {}): string {
  const answer = renderError(code, requestId)
  Object.assign(answer.headers, headers, { connection: 'close', date: httpDate() })
  return statusLine(answer.status, '') + headerLines(answer.headers) + '\r\n' + answer.body
}

let dateSecond = -1
let dateText = ''

/** The current time as an HTTP date (IMF-fixdate), formatted once a second as Node does for its responses. */
export function httpDate (): string {
  const second = Math.floor(Date.now() / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}

export function statusLine (status: number, message: string): string {
  return `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`
}

/**
 * An upstream's answer head, as the bytes to write: its header values byte for byte (undici read them as latin1,
 * as Node writes a plain request's), its reason phrase as undici read it (UTF-8).
 */
export function upstreamHead (status: number, message: string, headers: IncomingHttpHeaders): Buffer {
  const line = statusLine(status, message)
  const fields = headerLines(headers) + '\r\n'
  const head = Buffer.allocUnsafe(Buffer.byteLength(line) + fields.length)
  const at = head.write(line, 'utf8')
  head.write(fields, at, 'latin1')
  return head
}

export function headerLines (headers: IncomingHttpHeaders | ResponseHeaders | Record<string, string | number>): string {
  let out = ''
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) out += `${name}: ${v}\r\n`
  }
  return out
}
