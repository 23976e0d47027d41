// Requests a client pipelines behind one still being answered wait their turn (src/proxy/forward.ts). Node's HTTP
// server would read and parse on behind them without bound: it stops reading a connection only when answers back
// up (`state.outgoingData` over the socket's highWaterMark), and answers that have not started have no data. So
// once more than MAX_WAITING requests of a connection wait, the connection is not read on, by the same means Node
// pauses it: its `_paused` flag (its parser is then paused after the read in hand, and a request body read cannot
// resume the socket); it is resumed, as Node's socketOnDrain does, once RESUME_AT or fewer still wait. What is read
// ahead is then MAX_WAITING requests and the rest of one read (64 KiB), instead of all the client sends.
// Below the limit nothing changes: the connection is read, so a client that closes it is seen at once, and Node's
// headers timeout never runs on a request the gateway itself left half read. (Node itself stops reading behind a
// waiting request's body once 64 KiB of it wait unread, until that request's turn: docs/reliability.md.)
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'

/** Requests of one connection that may wait their turn before the gateway stops reading it (HAProxy reads ~16 KiB ahead). */
export const MAX_WAITING = 32
const RESUME_AT = MAX_WAITING / 2

/** A client connection as Node's HTTP server keeps it (lib/_http_server.js reads and sets these). */
type ServerSocket = Socket & {
  _paused?: boolean
  parser?: { pause (): void; resume (): void } | null
  _handle?: { reading?: boolean; readStart? (): number } | null
}

interface Queue {
  /** Requests waiting their turn now. */
  waiting: number
  held: boolean
  /** How to end each request whose response has no connection yet, if the connection closes first. */
  readonly unanswered: Set<() => void>
  /** The response of the request that began waiting last, until it takes its turn (then forgotten: it may hold a body). */
  last: ServerResponse | undefined
}

/** The queue of each connection that has pipelined (kept for the connection's life: one listener of each kind). */
const queues = new WeakMap<Socket, Queue>()

function queueOf (socket: Socket): Queue {
  let queue = queues.get(socket)
  if (queue !== undefined) return queue
  const created: Queue = queue = { waiting: 0, held: false, unanswered: new Set(), last: undefined }
  queues.set(socket, created)
  socket.once('close', () => {
    for (const end of created.unanswered) end()
    created.unanswered.clear()
  })
  // Node resumes a paused connection whenever an answer's bytes are handed to it (socketOnDrain, from every
  // response's first write), clearing `_paused` first: each answer would let in one more read of requests. Set
  // again before Node's own 'resume' listener runs, the flag makes that listener pause the connection at once.
  socket.prependListener('resume', () => {
    if (created.held && created.waiting > RESUME_AT) (socket as ServerSocket)._paused = true
  })
  return queue
}

/**
 * A response queued behind answers still owed on its connection (waiting its turn, or a refusal written ahead of
 * its turn): `ended` runs if the connection closes before the response has it. Node ends such a response itself
 * then, unless a WebSocket upgrade pipelined behind it took the connection over (the server then drops its close
 * handler, and the responses it queued never close).
 */
export function endsWithConnection (socket: Socket, res: ServerResponse, ended: () => void): void {
  const queue = queueOf(socket)
  queue.unanswered.add(ended)
  res.once('socket', (given: Socket) => {
    queue.unanswered.delete(ended)
    // Node hands it the connection when the answer before it finishes, even one closed meanwhile (destroyed on bytes
    // that failed to parse, or ended): what it holds is then dropped, never written
    if (!given.writable) turnOnClosedConnection.add(res)
  })
}

/** Responses whose turn came on a connection that could no longer carry them. */
const turnOnClosedConnection = new WeakSet<ServerResponse>()

/** Whether `res` had its turn only on a closed connection: nothing of it was written (src/proxy/exchange.ts answerBegan). */
export function hadTurnOnClosedConnection (res: ServerResponse): boolean {
  return turnOnClosedConnection.has(res)
}

/** A request of this connection waits its turn (`res` is its response); past MAX_WAITING the connection is no longer read. */
export function requestWaits (socket: Socket, res?: ServerResponse): void {
  const queue = queueOf(socket)
  queue.waiting++
  queue.last = res
  const s = socket as ServerSocket
  if (queue.waiting <= MAX_WAITING || s.destroyed) return
  queue.held = true
  // checked for every request past the limit: Node itself clears the flag and resumes whenever an answer's bytes
  // leave (socketOnDrain, from each write), whatever the gateway set it for
  if (s._paused === true) return
  s._paused = true
  s.pause()
}

/** The response of the request of this connection that began waiting last, while it still waits its turn. */
export function lastWaiting (socket: Socket): ServerResponse | undefined {
  return queues.get(socket)?.last
}

/** A waiting request got its turn; once few enough wait, a connection the gateway stopped reading is read again. */
export function requestTakesTurn (socket: Socket): void {
  const queue = queues.get(socket)
  if (queue === undefined) return
  queue.waiting--
  // the last waiting one has its turn (its response has the connection): kept, it would live as long as the connection
  if (queue.last?.socket != null) queue.last = undefined
  if (!queue.held || queue.waiting > RESUME_AT) return
  queue.held = false
  const s = socket as ServerSocket
  if (s.destroyed) return
  if (s._paused === true) {
    s._paused = false
    s.parser?.resume()
    s.resume()
  }
  restartRead(s)
}

/**
 * Restarts the read of a connection that upgraded (a WebSocket handshake pipelined behind requests) while it was
 * paused, by the gateway or by Node's backpressure. Node's server let go of it at the upgrade, and with its parser
 * went the 'resume' listener that restarts the read (onSocketResume): a resume() then only flips the stream, and a
 * stream its parser was reading does not restart by itself. Restarted as that listener does it.
 */
export function restartRead (socket: Duplex): void {
  const s = socket as ServerSocket
  const handle = s._handle
  if (s.destroyed || s.parser != null || handle == null || handle.reading !== false || handle.readStart === undefined) return
  handle.reading = true
  handle.readStart()
}
