// One upstream target: where it is, how much it should carry, its kept-alive connection pool and its requests
// in flight. Its availability (health, ejection, drain, operator) is kept by its pool, the one owner of target state.
import { Client as UndiciClient } from 'undici'
import { targetIdOf, type PoolConfig, type TargetConfig } from '../config/schema.ts'
import { TargetConnections } from './connections.ts'
import { resetAwareConnector } from './connector.ts'

/** A target's attempts and failures since start: plain data, which a copy of the same upstream goes on counting in. */
export interface TargetCounts { requests: number; failures: number }

export class Target {
  readonly url: string
  /** host:port, as the admin API and metrics name a target. */
  readonly id: string
  /** host[:port] as a Host header would carry it. */
  readonly host: string
  readonly weight: number
  readonly backup: boolean
  /** Health probes get their own connection, so a target busy with traffic is not judged by queueing. */
  readonly probeClient: UndiciClient
  /** TLS name to verify for https targets (the pool's tls.servername, else the target's host name). */
  readonly servername: string | undefined
  #client: TargetConnections | undefined
  #ended: 'close' | 'destroy' | undefined
  #ending: Promise<void> | undefined
  readonly #clientOptions: ConstructorParameters<typeof TargetConnections>[1]
  #inFlight = 0
  #queued = 0
  readonly #maxQueued: number
  /** How to close each WebSocket tunnel open to this target (each is also in flight). */
  readonly #tunnels = new Set<() => void>()
  readonly #counts: TargetCounts

  /**
   * `servername`: the TLS name to verify when the URL holds an address (a DNS-discovered target: the DNS name).
   * `counts`: those of the copy this one replaces (a reload changed its weight, backup flag or pool settings).
   */
  constructor (config: TargetConfig, pool: PoolConfig, servername?: string, counts: TargetCounts = { requests: 0, failures: 0 }) {
    this.#counts = counts
    const url = new URL(config.url)
    this.url = url.origin
    this.host = url.host
    this.id = targetIdOf(url)
    this.weight = config.weight
    this.backup = config.backup
    this.#maxQueued = pool.connections.maxQueuedPerTarget
    const isIp = /^[\d.]+$|^\[/.test(url.hostname)
    this.servername = url.protocol === 'https:' ? (pool.tls.servername ?? servername ?? (isIp ? undefined : url.hostname)) : undefined
    const connect = {
      timeout: pool.timeouts.connectMs,
      // undici verifies certificates by default; a pool opts out explicitly.
      rejectUnauthorized: pool.tls.rejectUnauthorized,
      ...(pool.tls.ca ? { ca: pool.tls.ca } : {}),
      ...(this.servername ? { servername: this.servername } : {}),
    }
    // the traffic connections are set up on the first request: a target that never gets one (a backup, a pool of a
    // thousand at start-up) costs nothing for them; health probes have their own client below
    this.#clientOptions = {
      connections: pool.connections.maxPerTarget,
      keepAliveTimeout: pool.connections.keepAliveMs,
      // HTTP/1.1 semantics end to end (undici 8 would negotiate h2 over TLS, which cannot carry WebSocket upgrades)
      allowH2: false,
      // undici's connector for these options (allowH2 as above), telling attempts when an end is a reset
      connect: resetAwareConnector({ ...connect, allowH2: false }),
      // Bounded per attempt by the proxy; these are the outer limits. The headers limit is never below the
      // request deadline; at the body's (the default: idle 60 s ≥ request 30 s) undici refreshes one timer per
      // response instead of replacing it twice (a timer allocated and cleared per request).
      headersTimeout: Math.max(pool.timeouts.requestMs, pool.timeouts.idleMs),
      bodyTimeout: pool.timeouts.idleMs,
    }
    this.probeClient = new UndiciClient(url.origin, { allowH2: false, keepAliveTimeout: pool.connections.keepAliveMs, connect })
  }

  /** The kept-alive connections that carry this target's traffic. */
  get client (): TargetConnections {
    return this.#client ??= this.#newClient()
  }

  #newClient (): TargetConnections {
    const client = new TargetConnections(this.url, this.#clientOptions)
    // first asked for after close() or destroy(): it refuses requests as the closed one would have
    if (this.#ended === 'close') void client.close()
    else if (this.#ended === 'destroy') void client.destroy()
    return client
  }

  /** Attempts handed to the connection pool that undici has not started yet (queued, or a connection opening). */
  get queued (): number { return this.#queued }

  /** connections.maxQueuedPerTarget attempts wait already: another is refused (503 upstream_busy) or not sent. */
  get queueFull (): boolean { return this.#queued >= this.#maxQueued }

  /** An attempt waits for a connection, until undici starts it or ends it; each enqueue() is matched by a dequeue(). */
  enqueue (): void { this.#queued++ }
  dequeue (): void { this.#queued-- }

  /** Requests currently in flight to this target (the balancers read it). */
  get inFlight (): number { return this.#inFlight }

  /** A request starts on this target; every acquire() is matched by one release() (through the pool). */
  acquire (): void { this.#inFlight++ }

  /** Open WebSocket tunnels (counted in inFlight too: a drain is not done while one is open). */
  get tunnels (): number { return this.#tunnels.size }

  /** A tunnel to this target opened; `close` ends it, both sides, and must call tunnelClosed(close). */
  tunnelOpened (close: () => void): void { this.#tunnels.add(close) }
  tunnelClosed (close: () => void): void { this.#tunnels.delete(close) }

  /** Closes every tunnel open to this target (an operator disabled it); returns how many there were. */
  closeTunnels (): number {
    const open = [...this.#tunnels]
    for (const close of open) close()
    return open.length
  }

  /** Attempts sent to this target since start. */
  get requests (): number { return this.#counts.requests }
  /** Attempts the target failed (a failure status, connect failure, reset, timeout, bad response). */
  get failures (): number { return this.#counts.failures }
  /** Both, shared with the copy a reload makes of this target. */
  get counts (): TargetCounts { return this.#counts }

  /** A request ended (failed: the target's fault); returns how many are still in flight. */
  release (failed = false): number {
    const counts = this.#counts
    counts.requests++
    if (failed) counts.failures++
    return --this.#inFlight
  }

  /**
   * Closes once, however often it is called: a retiring target is closed by its pool's close() and again when its
   * last request ends, and undici's close() of a client already closed (or destroyed) rejects.
   */
  close (): Promise<void> {
    this.#ended ??= 'close'
    return this.#ending ??= Promise.all([this.#client?.close(), this.probeClient.close()]).then(done)
  }

  /** Cuts what is in flight (a close() still waiting included); once, as close() is. */
  destroy (): Promise<void> {
    if (this.#ended === 'destroy') return this.#ending!
    this.#ended = 'destroy'
    return this.#ending = Promise.all([this.#client?.destroy(), this.probeClient.destroy()]).then(done)
  }
}

function done (): void {}
