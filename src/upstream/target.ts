// One upstream target: where it is, how much it should carry, its kept-alive connection pool,
// and the status that health checks, outlier ejection, drain and operators set through its pool.
import { Client as UndiciClient, Pool as UndiciPool } from 'undici'
import type { PoolConfig, TargetConfig } from '../config/schema.ts'

export interface TargetStatus {
  /** Active health checks' verdict (true until checks say otherwise). */
  readonly healthy: boolean
  /** Outlier ejection: unavailable until this epoch-ms time (0 = not ejected). */
  readonly ejectedUntil: number
  /** Taking no new requests, finishing the ones in flight. */
  readonly draining: boolean
  /** Taken out by an operator. */
  readonly disabled: boolean
}

export const INITIAL_STATUS: TargetStatus = Object.freeze({ healthy: true, ejectedUntil: 0, draining: false, disabled: false })

export class Target {
  readonly url: string
  readonly origin: string
  /** host[:port] as a Host header would carry it. */
  readonly host: string
  readonly weight: number
  readonly backup: boolean
  readonly client: UndiciPool
  /** Health probes get their own connection, so a target busy with traffic is not judged by queueing. */
  readonly probeClient: UndiciClient
  /** TLS name to verify for https targets (the pool's tls.servername, else the target's host name). */
  readonly servername: string | undefined
  /** Requests currently in flight to this target (the balancers read it). */
  inFlight = 0
  status: TargetStatus

  constructor (config: TargetConfig, pool: PoolConfig, status: TargetStatus = INITIAL_STATUS) {
    const url = new URL(config.url)
    this.url = url.origin
    this.origin = url.origin
    this.host = url.host
    this.weight = config.weight
    this.backup = config.backup
    this.status = status
    const isIp = /^[\d.]+$|^\[/.test(url.hostname)
    this.servername = url.protocol === 'https:' ? (pool.tls.servername ?? (isIp ? undefined : url.hostname)) : undefined
    const connect = {
      timeout: pool.timeouts.connectMs,
      // undici verifies certificates by default; a pool opts out explicitly.
      rejectUnauthorized: pool.tls.rejectUnauthorized,
      ...(pool.tls.ca ? { ca: pool.tls.ca } : {}),
      ...(this.servername ? { servername: this.servername } : {}),
    }
    this.client = new UndiciPool(url.origin, {
      connections: pool.connections.maxPerTarget,
      keepAliveTimeout: pool.connections.keepAliveMs,
      // HTTP/1.1 semantics end to end (undici 8 would negotiate h2 over TLS, which cannot carry WebSocket upgrades)
      allowH2: false,
      // Bounded per attempt by the proxy; these are the outer limits.
      headersTimeout: pool.timeouts.requestMs,
      bodyTimeout: pool.timeouts.idleMs,
      connect,
    })
    this.probeClient = new UndiciClient(url.origin, { allowH2: false, keepAliveTimeout: pool.connections.keepAliveMs, connect })
  }

  isAvailable (now: number): boolean {
    const s = this.status
    return s.healthy && !s.draining && !s.disabled && s.ejectedUntil <= now
  }

  async close (): Promise<void> {
    await Promise.all([this.client.close(), this.probeClient.close()])
  }

  async destroy (): Promise<void> {
    await Promise.all([this.client.destroy(), this.probeClient.destroy()])
  }
}
