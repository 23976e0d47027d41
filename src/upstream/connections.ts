// A target's kept-alive upstream connections: one undici Client per connection, up to a limit, with the clients
// free to take a request kept on a stack. undici's Pool finds a free client by scanning all of its clients, twice
// per request (to pick one, then to see whether another is left), which grows with the connections in use: at 256
// busy connections it was ~1.5% of the gateway's instructions per request. Here both are O(1). The most recently
// freed client is reused first (LIFO), so a lightly loaded target keeps a few warm connections and lets the rest
// reach their keep-alive timeout, as Envoy's and HAProxy's connection reuse does.
// Every copy of a target (a reload that changed its weight or its pool's settings makes one) shares these, so the
// limit is the upstream's: configure() takes a newer copy's settings without opening a connection more than it allows.
import { Client, errors, type Dispatcher } from 'undici'
import { WaitQueue } from './wait-queue.ts'

/** undici's Client options for each connection, and the most connections open at once. */
export type ConnectionsOptions = Client.Options & { connections: number }

interface Queued {
  readonly options: Dispatcher.DispatchOptions
  readonly handler: Dispatcher.DispatchHandler
  /** Only a new connection will do (dispatch's `fresh`). */
  readonly fresh: boolean
}

/**
 * A request handler told, as its request is handed to a connection, whether that connection carried an answer
 * before (kept alive) or is new: only a kept-alive one can have been closed by the upstream in the meantime.
 */
export interface ConnectionAware {
  onConnectionChosen? (reused: boolean): void
}

/** One connection and whether it can take a request now. */
interface Slot {
  readonly client: Client
  /** On the free stack. */
  free: boolean
  /**
   * Taken out after a connection error, once it came free under settings configure() replaced, or once it is free
   * without a connection (keep-alive, the upstream or an upgrade ended it): its events no longer count.
   */
  retired: boolean
  /** The configure() round it was made in: one made under replaced settings closes once it comes free. */
  readonly round: number
}

export class TargetConnections {
  readonly #origin: string
  #options: Client.Options
  #max: number
  /** Bumped by configure(): slots of earlier rounds close as they come free. */
  #round = 0
  readonly #slots: Slot[] = []
  readonly #free: Slot[] = []
  /** Requests waiting for a connection, first in first out, by handler (withdraw() takes one out). */
  readonly #queue = new WaitQueue<Dispatcher.DispatchHandler, Queued>()
  /** Clients closing after a connection error (close() and destroy() wait for them too). */
  readonly #retiring = new Map<Client, Promise<void>>()
  /**
   * Connections closing to make room for a fresh one (dispatch's `fresh`): counted against the limit until they
   * have closed, so the upstream never sees one more than maxPerTarget.
   */
  #closingForRoom = 0
  #ended: 'close' | 'destroy' | undefined
  #closing: Promise<void> | undefined
  /** close() waits for the queue to empty; this resolves it. */
  #queueEmptied: (() => void) | undefined

  constructor (origin: string, options: ConnectionsOptions) {
    const { connections, ...clientOptions } = options
    this.#origin = origin
    this.#options = clientOptions
    this.#max = Math.max(1, connections)
  }

  /**
   * New settings (a reload changed the pool's): connections made from now on use them and the new limit counts
   * every connection open. Idle ones made under the old settings close now; busy ones finish what they carry, then
   * close, and count against the limit until they do (a connection more than the limit is never opened).
   */
  configure (options: ConnectionsOptions): void {
    const { connections, ...clientOptions } = options
    this.#options = clientOptions
    this.#max = Math.max(1, connections)
    this.#round++
    for (const slot of [...this.#free]) this.#retire(slot)
    // a higher limit lets what waits start now
    this.#moveQueue()
  }

  /** close() was called: requests are refused (those queued before are still sent). */
  get closed (): boolean { return this.#ended !== undefined }
  get destroyed (): boolean { return this.#ended === 'destroy' }

  /** Requests waiting for a connection. */
  get queued (): number { return this.#queue.size }

  /** Slots the queue's array holds, waiting or withdrawn (stays within about twice `queued`). */
  get queueFootprint (): number { return this.#queue.footprint }

  /** Clients held: one per connection open, opening or busy (one free whose connection closed is let go). */
  get clients (): number { return this.#slots.length }

  /** Connections open now. */
  get connected (): number {
    let n = 0
    for (const slot of this.#slots) if (slot.client.stats.connected) n++
    return n
  }

  /**
   * Hands a request to a free connection, to a new one while under the limit, or queues it until one comes free.
   * False when no connection is left for another request (this one queued, or took the last), as Pool answers.
   * `fresh`: a new connection only (the request found a kept-alive one dead): at the limit, a free one is closed to
   * make room, else the request waits for one to come free, which is closed for it in turn.
   */
  dispatch (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, fresh = false): boolean {
    if (this.#ended !== undefined) {
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, this.#ended === 'close' ? new errors.ClientClosedError() : new errors.ClientDestroyedError())
      return false
    }
    const slot = fresh ? this.#openFresh() : this.#free.pop() ?? this.#open()
    if (slot === undefined) {
      this.#queue.push(handler, { options, handler, fresh })
      return false
    }
    slot.free = false
    if (this.#send(slot, options, handler)) this.#makeFree(slot)
    return this.#free.length > 0 || this.#slots.length < this.#max
  }

  /**
   * A request found a kept-alive connection dead (reset before any byte of an answer): the upstream, or a middlebox
   * between, dropped its idle connections, and those still idle here are likely dead too (the retry would take the
   * next one: LIFO). They are closed, so the retry and the requests after it open new ones (nginx resends such a
   * request on another connection likewise).
   */
  dropIdle (): void {
    for (const slot of [...this.#free]) this.#retire(slot)
  }

  /** Hands one request to a slot's client: true when the client can take another at once. */
  #send (slot: Slot, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // reused: it carried an answer before and is still open (a new client, or one reconnecting, is connecting)
    ;(handler as ConnectionAware).onConnectionChosen?.(slot.client.stats.connected)
    try {
      return slot.client.dispatch(options, handler)
    } catch (err) {
      // A handler threw from inside dispatch(), e.g. from onResponseError when undici refused the request on the
      // spot. If the client holds nothing, no 'drain' will come to free this slot: it is free now.
      if (slot.client.stats.size === 0) this.#makeFree(slot)
      throw err
    }
  }

  /**
   * A new connection while under the limit; at it, one of the free ones is closed to make room (undefined: the
   * request waits until it has closed, or until a busy one comes free and is closed for it).
   */
  #openFresh (): Slot | undefined {
    const opened = this.#open()
    if (opened !== undefined) return opened
    // one room at a time: requests needing one wait their turn (a path of a few requests after a stale connection)
    const idle = this.#free[this.#free.length - 1]
    if (idle !== undefined && this.#closingForRoom === 0) this.#closeForRoom(idle)
    return undefined
  }

  /** Closes a connection to make room for a fresh one: once it has closed, what waits moves on. */
  #closeForRoom (slot: Slot): void {
    this.#retire(slot, false)
    const closing = this.#retiring.get(slot.client)
    if (closing === undefined) return
    this.#closingForRoom++
    void closing.then(() => {
      this.#closingForRoom--
      this.#moveQueue()
    })
  }

  #open (): Slot | undefined {
    if (this.#slots.length + this.#closingForRoom >= this.#max) return undefined
    const client = new Client(this.#origin, this.#options)
    const slot: Slot = { client, free: false, retired: false, round: this.#round }
    client.on('drain', () => this.#drained(slot))
    client.on('connectionError', () => this.#retire(slot))
    client.on('disconnect', () => this.#disconnected(slot))
    this.#slots.push(slot)
    return slot
  }

  #makeFree (slot: Slot): void {
    if (slot.free || slot.retired) return
    slot.free = true
    this.#free.push(slot)
  }

  /** A connection can take a request again: the queue's next, else it waits on the free stack. */
  #drained (slot: Slot): void {
    if (slot.free || slot.retired) return
    // made under settings a reload replaced: it closes, and what waits goes to one made under the new ones
    if (slot.round !== this.#round) return this.#retire(slot)
    for (let next = this.#queue.peek(); next !== undefined; next = this.#queue.peek()) {
      if (next.fresh) {
        // a room is being made for it already: this one waits free (closing it too would close one per answer
        // ending until then, at a busy target); else this one closes to make room, and once it has, the queue moves on
        if (this.#closingForRoom > 0) break
        return this.#closeForRoom(slot)
      }
      this.#queue.shift()
      if (!this.#send(slot, next.options, next.handler)) return
    }
    this.#makeFree(slot)
    this.#maybeClosed()
  }

  /**
   * A connection closed. A free slot without one holds nothing but its Client (~3 KB): kept, every connection a
   * burst ever opened would stay held until a reload, since the most recently freed is reused first and the rest
   * are never reached. It is let go; the next request that needs one more connection makes a new one. A busy slot's
   * client fails its request first, then (synchronously, undici's resume) frees the slot or takes the next queued
   * request: that is over once this turn's microtasks run, so the slot is looked at then; one that took a request
   * (reconnecting for it) stays.
   */
  #disconnected (slot: Slot): void {
    // closing or destroyed: every client is being closed already
    if (this.#ended !== undefined) return
    if (slot.free) return this.#retire(slot)
    queueMicrotask(() => {
      if (slot.free && !slot.client.stats.connected) this.#retire(slot)
    })
  }

  /** Whether the request still waits for a connection (queued, not yet handed to one, opening or open). */
  waiting (handler: Dispatcher.DispatchHandler): boolean { return this.#queue.has(handler) }

  /**
   * Takes a request that still waits for a connection out of the queue (its attempt ended: a deadline, the client
   * gone), so that no connection is later spent starting it only to abort it. True if it was waiting here: its
   * handler hears nothing more. False if a connection has it (undici's, opening or busy) or it never queued.
   */
  withdraw (handler: Dispatcher.DispatchHandler): boolean {
    if (!this.#queue.remove(handler)) return false
    this.#maybeClosed()
    return true
  }

  /**
   * A connection could not be made (or came free under replaced settings, or is free without a connection). The
   * client has failed the requests it held; as undici's Pool does (nodejs/undici#3895), it is closed and a new one is
   * made for the next request, and what waits in the queue moves on to the connections left (or new ones).
   */
  #retire (slot: Slot, moveQueue = true): void {
    if (slot.retired) return
    slot.retired = true
    this.#slots.splice(this.#slots.indexOf(slot), 1)
    if (slot.free) this.#free.splice(this.#free.indexOf(slot), 1)
    slot.free = false
    const client = slot.client
    this.#retiring.set(client, client.close().catch(() => {}).finally(() => { this.#retiring.delete(client) }))
    if (moveQueue) this.#moveQueue()
  }

  /** Hands waiting requests to free or new connections (after one was retired). */
  #moveQueue (): void {
    for (let next = this.#queue.peek(); next !== undefined; next = this.#queue.peek()) {
      const slot = next.fresh ? this.#openFresh() : this.#free.pop() ?? this.#open()
      if (slot === undefined) break
      this.#queue.shift()
      slot.free = false
      if (this.#send(slot, next.options, next.handler)) this.#makeFree(slot)
    }
    this.#maybeClosed()
  }

  /** A close() waiting for the queue to empty goes on once it has. */
  #maybeClosed (): void {
    if (this.#queueEmptied !== undefined && this.queued === 0) this.#queueEmptied()
  }

  /** Takes no more requests; those queued are still sent; resolves once every connection has closed. */
  close (): Promise<void> {
    if (this.#ended === 'destroy') return this.#closeAll()
    return this.#closing ??= this.#close()
  }

  async #close (): Promise<void> {
    this.#ended = 'close'
    if (this.queued > 0) await new Promise<void>((resolve) => { this.#queueEmptied = resolve })
    await this.#closeAll()
  }

  async #closeAll (): Promise<void> {
    // a destroyed client refuses close(); it has no connection left to wait for
    await Promise.all([...this.#slots.map((s) => s.client.destroyed ? undefined : s.client.close()), ...this.#retiring.values()])
  }

  /** Fails what is queued and what is in flight, and closes every connection now. */
  async destroy (): Promise<void> {
    this.#ended = 'destroy'
    const err = new errors.ClientDestroyedError()
    for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) next.handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, err)
    this.#queueEmptied?.()
    await Promise.all([...this.#slots.map((s) => s.client.destroy(err)), ...[...this.#retiring.keys()].map((c) => c.destroy(err))])
  }
}
