// Connections a listener closes unserved (over server.maxConnections, or an accept the kernel refused), counted
// (the public listener's) and said at most once a second, as nginx says "accept() failed (24: Too many open files)".
import type { Server } from 'node:net'
import type { Logger } from 'pino'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { Clock, Timer } from '../runtime.ts'

/** A dropped connection's log line comes at most this often, with the count since the last (nginx: once a second). */
const DROP_LOG_INTERVAL_MS = 1000

/**
 * Connections the public listener closes unserved, said and counted instead of reset in silence: over
 * server.maxConnections (Node's 'drop'), or an accept the kernel refused (the server's 'error' with syscall
 * 'accept': EMFILE, ENFILE, ENOBUFS...; Node keeps listening after it). Out of fds, libuv mostly accepts and closes
 * the connection itself, unseen here: a limit below the fd limit is what makes the gateway refuse first, knowingly.
 */
export function watchConnectionDrops (server: Server, logger: Logger, metrics: GatewayMetrics | undefined, clock: Clock, listener: 'public' | 'admin' = 'public'): void {
  // the limit in force at the drop: the line comes up to a second later, perhaps after a reload changed it
  let droppedAt = 0
  const limit = new DropLine(clock, (count) => {
    logger.warn({ listener, reason: 'limit', dropped: count, maxConnections: droppedAt }, `${count} connection(s) dropped: server.maxConnections (${droppedAt}) reached`)
  })
  const accept = new DropLine(clock, (count, codes) => {
    logger.error({ listener, reason: 'accept_error', dropped: count, codes }, `accept failed on the ${listener} listener (${Object.keys(codes).join(', ')}): ${count} new connection(s) refused`)
  })
  server.on('drop', () => {
    metrics?.connectionDropped('limit')
    droppedAt = server.maxConnections
    limit.note()
  })
  server.on('error', (err: NodeJS.ErrnoException) => {
    // an unhandled 'error' is thrown, which took the whole gateway down (close-with-grace's fatal path) for one
    // connection the kernel refused: an accept error is the connection's, never the listener's
    if (err.syscall === 'accept') {
      metrics?.connectionDropped('accept_error')
      accept.note(err.code ?? 'unknown')
      return
    }
    // any other: a failed listen() is its caller's (Fastify listens for it then); otherwise as fatal as it was
    if (server.listenerCount('error') === 1) throw err
  })
  // the count since the last line is written out, not lost with the listener
  server.on('close', () => {
    limit.flush()
    accept.flush()
  })
}

/** Counts like events and writes one line for them at the end of a DROP_LOG_INTERVAL_MS window the first one opens. */
class DropLine {
  readonly #clock: Clock
  readonly #write: (count: number, codes: Record<string, number>) => void
  #count = 0
  readonly #codes = new Map<string, number>()
  #timer: Timer | undefined

  constructor (clock: Clock, write: (count: number, codes: Record<string, number>) => void) {
    this.#clock = clock
    this.#write = write
  }

  note (code?: string): void {
    this.#count++
    if (code !== undefined) this.#codes.set(code, (this.#codes.get(code) ?? 0) + 1)
    if (this.#timer !== undefined) return
    // unref'd: a pending line never holds the process open
    this.#timer = this.#clock.setTimeout(() => this.flush(), DROP_LOG_INTERVAL_MS)
    this.#timer.unref()
  }

  flush (): void {
    this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#count === 0) return
    const count = this.#count
    const codes = Object.fromEntries(this.#codes)
    this.#count = 0
    this.#codes.clear()
    this.#write(count, codes)
  }
}
