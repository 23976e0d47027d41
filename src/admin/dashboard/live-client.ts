// Reads GET /live. Server-Sent Events over fetch rather than EventSource, because EventSource cannot send the
// bearer token. Reconnects with backoff, and treats a stream that says nothing (not even a heartbeat) as dead.
// Puts each snapshot's routes back together from the last `routes` message and the snapshot's routeState.
import { relative, type AdminApi } from './api.ts'
import type { DashboardRoute, DashboardSnapshot, GatewayEvent, LiveRoutes, LiveSnapshot } from './wire.ts'

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'unauthorized'

export interface LiveHandlers {
  /** Recent events: the first message of every connection (so also the sign of a fresh connection). */
  backlog (events: GatewayEvent[]): void
  snapshot (snapshot: DashboardSnapshot): void
  event (event: GatewayEvent): void
  connection (state: Connection): void
}

/** Longer than the server's heartbeat (15 s) with room to spare. */
const SILENCE_LIMIT_MS = 40_000
const MAX_BACKOFF_MS = 10_000

export class LiveClient {
  readonly #api: AdminApi
  readonly #handlers: LiveHandlers
  #controller: AbortController | undefined
  /** The last `routes` message of the current connection (every connection sends one before its first snapshot). */
  #routes: readonly DashboardRoute[] = []

  constructor (api: AdminApi, handlers: LiveHandlers) {
    this.#api = api
    this.#handlers = handlers
  }

  /** (Re)connects, e.g. after the operator entered a token. */
  start (): void {
    this.#controller?.abort()
    const controller = new AbortController()
    this.#controller = controller
    void this.#run(controller.signal)
  }

  async #run (signal: AbortSignal): Promise<void> {
    let backoff = 1000
    let first = true
    while (!signal.aborted) {
      this.#handlers.connection(first ? 'connecting' : 'reconnecting')
      first = false
      const connection = new AbortController()
      const stop = (): void => connection.abort()
      signal.addEventListener('abort', stop, { once: true })
      this.#routes = []
      try {
        const res = await fetch(relative('/live'), { headers: this.#api.headers({ accept: 'text/event-stream' }), cache: 'no-store', signal: connection.signal })
        if (res.status === 401) {
          this.#api.setToken(undefined)
          this.#handlers.connection('unauthorized')
          return // start() again once there is a token
        }
        if (res.ok && res.body !== null) {
          const retry = await this.#read(res.body, connection)
          backoff = retry ?? 1000
        }
      } catch { /* dropped, refused or silent: try again below */ } finally {
        signal.removeEventListener('abort', stop)
        connection.abort()
      }
      if (signal.aborted) return
      this.#handlers.connection('reconnecting')
      await sleep(backoff, signal)
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
    }
  }

  /** Dispatches messages until the stream ends; returns the server's retry hint. */
  async #read (body: ReadableStream<Uint8Array>, connection: AbortController): Promise<number | undefined> {
    const reader = body.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    let retry: number | undefined
    let watchdog = setTimeout(() => connection.abort(), SILENCE_LIMIT_MS)
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return retry
        clearTimeout(watchdog)
        watchdog = setTimeout(() => connection.abort(), SILENCE_LIMIT_MS)
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n')
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const message = parseBlock(block)
          if (message.retry !== undefined) retry = message.retry
          if (message.data !== undefined) this.#dispatch(message.event, message.data)
        }
      }
    } finally {
      clearTimeout(watchdog)
      reader.releaseLock()
    }
  }

  #dispatch (event: string, data: string): void {
    let value: unknown
    try {
      value = JSON.parse(data)
    } catch {
      return
    }
    if (event === 'backlog') {
      this.#handlers.connection('live')
      this.#handlers.backlog(value as GatewayEvent[])
    } else if (event === 'routes') {
      this.#routes = value as LiveRoutes
    } else if (event === 'snapshot') {
      const { routeState, status, ...rest } = value as LiveSnapshot
      const routes = this.#routes.map((route, i) => routeState[i] ?? route)
      this.#handlers.snapshot({ ...rest, status: { ...status, routes } })
    } else if (event === 'event') {
      this.#handlers.event(value as GatewayEvent)
    }
  }
}

function parseBlock (block: string): { event: string; data?: string; retry?: number } {
  let event = 'message'
  const data: string[] = []
  let retry: number | undefined
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue // comments are heartbeats
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value)
  }
  return data.length === 0 ? { event, retry } : { event, data: data.join('\n'), retry }
}

function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
