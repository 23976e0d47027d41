// Requests a client pipelines behind one still being answered wait their turn (src/proxy/forward.ts). Node's HTTP
// server would read and parse on behind them without bound: it stops reading a connection only when answers back
// up (`state.outgoingData` over the socket's highWaterMark), and answers that have not started have no data. So
// while any request of a connection waits its turn, the connection is not read, by the same means Node pauses it:
// its `_paused` flag (its parser is then paused after the chunk in hand, and a request body read cannot resume the
// socket), and resumed, as Node's socketOnDrain does, once the last waiting request has had its turn. What is read
// ahead is then at most the rest of one read (64 KiB) of requests, instead of all the client sends.
import type { Socket } from 'node:net'

/** A client connection as Node's HTTP server keeps it (lib/_http_server.js reads and sets these). */
type ServerSocket = Socket & {
  _paused?: boolean
  parser?: { pause (): void; resume (): void } | null
  _handle?: { reading?: boolean; readStart? (): number } | null
}

/** Requests of each connection that wait their turn now (connections that pipeline only). */
const waiting = new WeakMap<Socket, number>()

/** A request of this connection waits its turn: stop reading the connection until it has had it. */
export function holdReading (socket: Socket): void {
  waiting.set(socket, (waiting.get(socket) ?? 0) + 1)
  const s = socket as ServerSocket
  if (s._paused === true || s.destroyed) return
  s._paused = true
  s.pause()
}

/** A waiting request got its turn (or its connection closed); the last one lets the connection be read again. */
export function releaseReading (socket: Socket): void {
  const left = (waiting.get(socket) ?? 1) - 1
  if (left > 0) return void waiting.set(socket, left)
  waiting.delete(socket)
  const s = socket as ServerSocket
  if (s.destroyed) return
  if (s._paused === true) {
    s._paused = false
    s.parser?.resume()
    s.resume()
  }
  // A connection that upgraded meanwhile (a WebSocket handshake pipelined behind this request) is no longer the
  // server's: its parser is gone, and with it the 'resume' listener that restarts the read (onSocketResume), so
  // neither this resume nor Node's own (socketOnDrain, as the answer before was written) reads it again, and a
  // stream its parser was reading does not restart by itself. Restarted here as that listener does it.
  const handle = s._handle
  if (s.parser == null && handle != null && handle.reading === false && handle.readStart !== undefined) {
    handle.reading = true
    handle.readStart()
  }
}
