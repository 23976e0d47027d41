// An HTTP/1.1 answer written straight to a socket, where no ServerResponse exists: the WebSocket upgrade path
// (refusals, a declined upgrade, the 101) and Node's parser refusing bytes before there was a request.
import type { IncomingHttpHeaders } from 'node:http'
import type { Duplex } from 'node:stream'
import { STATUS_CODES } from '../node-http.ts'
import type { ResponseHeaders } from './headers.ts'

/** How long a refused client may keep its half of the connection open after the answer went out. */
export const LINGER_MS = 1000

/**
 * Ends a connection that will carry no tunnel: the answer goes out, anything the client sends is read and
 * dropped, and a client that never closes its half is cut off after LINGER_MS instead of holding the socket.
 */
export function endAndLinger (socket: Duplex, answer?: string): void {
  socket.resume()
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
  if (answer === undefined) socket.end()
  else socket.end(answer)
}

export function statusLine (status: number, message: string): string {
  return `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`
}

export function headerLines (headers: IncomingHttpHeaders | ResponseHeaders | Record<string, string | number>): string {
  let out = ''
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) out += `${name}: ${v}\r\n`
  }
  return out
}
