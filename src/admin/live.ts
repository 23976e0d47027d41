// The dashboard's live stream: one Server-Sent Events response per watcher.
//   event: routes    what changes only at a reload (the routes), sent to a watcher before the first snapshot built
//                    over a list it has not got: 5,000 routes were 340 KB of every snapshot, twice a second
//   event: snapshot  the whole picture, at most once per minIntervalMs, sent when marked dirty or every refreshMs
//   event: event     a GatewayEvent, as it happens
//   event: backlog   recent events, once, when a watcher connects
//   ": heartbeat"    a comment every heartbeatMs, so idle proxies and the page both see the stream is alive
// Nothing is built or scheduled while nobody watches: markDirty() and publishEvent() are then a single check.
// A watcher that reads slowly gets no new snapshot while what it was sent is still waiting to drain (Node's
// backpressure signal): it gets the newest one once that has drained, so a stalled watcher holds about one snapshot
// rather than one per tick, and one stalled for maxStallMs is disconnected (its place is free for another).
import type { ServerResponse } from 'node:http'
import { adminError } from '../errors.ts'
import { monotonicMs, systemClock, type Clock, type Timer } from '../runtime.ts'
import type { GatewayEvent } from './status-types.ts'

export interface LiveStreamOptions {
  /**
   * What a snapshot carries; called only when one is about to be sent, with what routes() returned just before
   * (in the same turn: a snapshot can leave out what that list already says).
   */
  snapshot: (routes: readonly unknown[] | undefined) => unknown
  /**
   * The list a `routes` message carries. A new array means it changed (compared by identity): return the same one
   * while it has not. Without it, no `routes` message is sent.
   */
  routes?: () => readonly unknown[]
  /** Recent events, sent to a watcher when it connects. */
  backlog?: () => readonly GatewayEvent[]
  clock?: Clock
  /** Snapshots are at least this far apart (default 500 ms: two a second at most). */
  minIntervalMs?: number
  /** A snapshot goes out at least this often even if nothing was marked dirty (default 5 s). */
  refreshMs?: number
  /** Default 15 s. */
  heartbeatMs?: number
  /** A watcher that lets this much pile up unread is disconnected (default 1 MiB). */
  maxBufferedBytes?: number
  /** Watchers at once; one more is answered 503 too_many_watchers (default 32). */
  maxWatchers?: number
  /** A watcher that has not drained what it was sent for this long when a snapshot is due is disconnected (default 60 s). */
  maxStallMs?: number
  /** A snapshot that could not be built (the stream carries on). */
  onError?: (error: unknown) => void
}

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no', // nginx in front would otherwise hold frames back
} as const
/** The page reconnects this long after losing the stream. */
const RECONNECT_MS = 2000

interface Watcher {
  /** When (monotonic ms) a snapshot was first skipped because the watcher had not drained; undefined while it keeps up. */
  behindSince: number | undefined
  /** The routes list of the last `routes` message it was sent. */
  routes: readonly unknown[] | undefined
}

/** A snapshot's frame, and the routes list it was built over (its `routes` message goes first to whoever lacks it). */
interface BuiltSnapshot {
  frame: string
  routes: readonly unknown[] | undefined
}

export class LiveStream {
  readonly #clients = new Map<ServerResponse, Watcher>()
  readonly #snapshot: (routes: readonly unknown[] | undefined) => unknown
  readonly #routes: (() => readonly unknown[]) | undefined
  readonly #backlog: () => readonly GatewayEvent[]
  readonly #clock: Clock
  readonly #minIntervalMs: number
  readonly #refreshMs: number
  readonly #heartbeatMs: number
  readonly #maxBufferedBytes: number
  readonly #maxWatchers: number
  readonly #maxStallMs: number
  readonly #onError: (error: unknown) => void
  /**
   * Monotonic ms (monotonicMs), as is every time this class compares: pacing and the stall cut are durations, and a
   * wall-clock step must not move them (a 1 h step back held every snapshot back for an hour).
   */
  #lastSnapshotAt = Number.NEGATIVE_INFINITY
  /** The last snapshot broadcast: what a watcher that fell behind gets once it has caught up. */
  #latestSnapshot: BuiltSnapshot | undefined
  /** The `routes` frame of one list, built once however many watchers get it. */
  #routesFrame: { routes: readonly unknown[]; frame: string } | undefined
  #flushTimer: Timer | undefined
  #refreshTimer: Timer | undefined
  #heartbeatTimer: Timer | undefined
  #closed = false

  constructor (options: LiveStreamOptions) {
    this.#snapshot = options.snapshot
    this.#routes = options.routes
    this.#backlog = options.backlog ?? (() => [])
    this.#clock = options.clock ?? systemClock
    this.#minIntervalMs = options.minIntervalMs ?? 500
    this.#refreshMs = options.refreshMs ?? 5000
    this.#heartbeatMs = options.heartbeatMs ?? 15_000
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024
    this.#maxWatchers = options.maxWatchers ?? 32
    this.#maxStallMs = options.maxStallMs ?? 60_000
    this.#onError = options.onError ?? (() => {})
  }

  /** Watchers connected now. */
  get clients (): number { return this.#clients.size }

  /** Takes over a response (a hijacked Fastify reply's raw one) until the watcher goes away. */
  attach (res: ServerResponse): void {
    if (this.#closed) {
      res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify({ error: 'closing', message: 'the admin listener is closing' }))
      return
    }
    if (this.#clients.size >= this.#maxWatchers) {
      const { status, body } = adminError('too_many_watchers')
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'retry-after': String(RECONNECT_MS / 1000) })
      res.end(JSON.stringify(body))
      return
    }
    // HEAD gets the stream's head and ends (RFC 9110 §9.3.2): kept as a watcher, it would hold a slot, its writes
    // discarded by Node, until the client hung up
    if (res.req.method === 'HEAD') return void res.writeHead(200, STREAM_HEADERS).end()
    res.writeHead(200, STREAM_HEADERS)
    const watcher: Watcher = { behindSince: undefined, routes: undefined }
    this.#clients.set(res, watcher)
    res.once('close', () => this.#detach(res))
    res.on('error', () => this.#detach(res)) // a reset watcher; 'close' follows
    res.on('drain', () => this.#caughtUp(res, watcher))
    const snapshot = this.#buildSnapshot()
    this.#write(res, `retry: ${RECONNECT_MS}\n\n${frame('backlog', this.#backlog())}${snapshot === undefined ? '' : this.#framesFor(watcher, snapshot)}`)
    if (this.#clients.size === 1) this.#watch()
  }

  /** Something in the snapshot changed: it goes out within minIntervalMs. */
  markDirty (): void {
    if (this.#clients.size === 0 || this.#flushTimer !== undefined) return
    const wait = Math.max(0, this.#lastSnapshotAt + this.#minIntervalMs - monotonicMs(this.#clock))
    this.#flushTimer = this.#clock.setTimeout(() => {
      this.#flushTimer = undefined
      this.#broadcastSnapshot()
    }, wait)
  }

  /** Sends the event to every watcher now, and marks the snapshot dirty (an event means the picture changed). */
  publishEvent (event: GatewayEvent): void {
    if (this.#clients.size === 0) return
    this.#broadcast(frame('event', event))
    this.markDirty()
  }

  /** Ends every stream and refuses new watchers (the admin listener is closing). */
  close (): void {
    this.#closed = true
    this.disconnectAll()
  }

  /**
   * Ends every stream (new watchers are still taken): the admin token changed, and a stream is authorised once, when
   * it connects. Each watcher reconnects and is asked for the token in force.
   */
  disconnectAll (): void {
    for (const res of [...this.#clients.keys()]) res.end()
    this.#clients.clear()
    this.#idle()
  }

  #watch (): void {
    const refresh = (): void => {
      const due = this.#lastSnapshotAt + this.#refreshMs
      const now = monotonicMs(this.#clock)
      if (now >= due) this.#broadcastSnapshot()
      this.#refreshTimer = this.#clock.setTimeout(refresh, now >= due ? this.#refreshMs : due - now)
      this.#refreshTimer.unref()
    }
    this.#refreshTimer = this.#clock.setTimeout(refresh, this.#refreshMs)
    this.#refreshTimer.unref()
    const heartbeat = this.#clock.setTimeout(() => {
      this.#broadcast(': heartbeat\n\n')
      heartbeat.refresh()
    }, this.#heartbeatMs)
    heartbeat.unref()
    this.#heartbeatTimer = heartbeat
  }

  #idle (): void {
    this.#clock.clearTimeout(this.#flushTimer)
    this.#clock.clearTimeout(this.#refreshTimer)
    this.#clock.clearTimeout(this.#heartbeatTimer)
    this.#flushTimer = this.#refreshTimer = this.#heartbeatTimer = undefined
    this.#latestSnapshot = undefined
    this.#routesFrame = undefined
  }

  #detach (res: ServerResponse): void {
    if (!this.#clients.delete(res)) return
    if (this.#clients.size === 0) this.#idle()
  }

  #broadcastSnapshot (): void {
    this.#lastSnapshotAt = monotonicMs(this.#clock)
    const snapshot = this.#buildSnapshot()
    if (snapshot === undefined) return
    this.#latestSnapshot = snapshot
    for (const [res, watcher] of this.#clients) this.#writeSnapshot(res, watcher, snapshot)
  }

  /** Writes the snapshot unless the watcher has not drained what it was sent (then it gets the newest on 'drain'). */
  #writeSnapshot (res: ServerResponse, watcher: Watcher, snapshot: BuiltSnapshot): void {
    if (!res.writableNeedDrain) {
      this.#write(res, this.#framesFor(watcher, snapshot))
      return
    }
    const now = monotonicMs(this.#clock)
    watcher.behindSince ??= now
    // stalled: its place (one of maxWatchers) goes to someone who reads; a snapshot too big to hold goes too
    if (now - watcher.behindSince >= this.#maxStallMs || res.writableLength > this.#maxBufferedBytes) res.destroy()
  }

  /** What the watcher was sent has drained: if it missed a snapshot meanwhile, the newest goes now. */
  #caughtUp (res: ServerResponse, watcher: Watcher): void {
    if (watcher.behindSince === undefined) return
    watcher.behindSince = undefined
    const newest = this.#latestSnapshot
    if (newest !== undefined && this.#clients.has(res)) this.#write(res, this.#framesFor(watcher, newest))
  }

  #buildSnapshot (): BuiltSnapshot | undefined {
    try {
      const routes = this.#routes?.()
      return { frame: frame('snapshot', this.#snapshot(routes)), routes }
    } catch (error) {
      this.#onError(error)
      return undefined
    }
  }

  /**
   * The snapshot's frame, after the `routes` message it was built over when the watcher has not got that list (it
   * connected, or a reload changed the routes since). Counted as sent: a watcher too slow to take it is cut.
   */
  #framesFor (watcher: Watcher, snapshot: BuiltSnapshot): string {
    const routes = snapshot.routes
    if (routes === undefined || watcher.routes === routes) return snapshot.frame
    watcher.routes = routes
    if (this.#routesFrame?.routes !== routes) this.#routesFrame = { routes, frame: frame('routes', routes) }
    return this.#routesFrame.frame + snapshot.frame
  }

  #broadcast (text: string): void {
    for (const res of this.#clients.keys()) this.#write(res, text)
  }

  #write (res: ServerResponse, text: string): void {
    if (res.writableEnded || res.destroyed) return // gone; its 'close' is on the way
    if (res.writableLength > this.#maxBufferedBytes) {
      res.destroy() // a watcher that stopped reading; its 'close' detaches it
      return
    }
    res.write(text)
  }
}

function frame (name: string, data: unknown): string {
  // JSON.stringify never emits a raw newline, so the data fits on one `data:` line
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
}
