// The shape of GET /status on the admin listener (and of each snapshot the dashboard's live stream carries).
// One declaration shared by the server that builds it and the dashboard that draws it.
import type { TargetState } from '../upstream/status.ts'

export interface StatusDocument {
  version: string
  configFile: string | undefined
  /** ISO time the running config was loaded. */
  configLoadedAt: string
  /**
   * Hash of the config last applied (at start or by a reload), as switchyard_config_info{hash} and POST /reload
   * give it. Its routes, pools and other settings are in force, except those in `restartRequired`.
   */
  configHash: string
  /**
   * Settings of that config that wait for a restart (e.g. 'server.port'): they differ from what the process started
   * with, which stays in force. Empty when the config last applied runs whole; a reload that puts them back clears them.
   * (Always set by the gateway.)
   */
  restartRequired: string[]
  /** 'starting' until the first health-check round is done, 'ready', or 'draining' once shutdown began. */
  readiness: 'starting' | 'ready' | 'draining'
  /** WebSocket tunnels open now, gateway-wide: with those of pools a reload removed, which no pool lists any more. */
  tunnels: number
  pools: Record<string, PoolStatus>
  /**
   * Pools a reload removed that still finish requests or tunnels admitted before it (no route sends them new ones):
   * listed until these end, so a reload that removes a pool can be watched to its end as a drain can.
   */
  removedPools: Record<string, { inFlight: number; tunnels: number }>
  routes: RouteStatus[]
}

export interface PoolStatus {
  circuit: 'closed' | 'open' | 'half-open'
  /** While open: seconds until the breaker lets a probe through. */
  circuitRetryAfterSeconds?: number
  activeTier: 'primary' | 'backup' | 'none'
  /** 'manual' when an operator chose the tier (switchover) or failback is manual and traffic is on the backups. */
  switchover: 'auto' | 'manual'
  /**
   * Why the pool is held on its backups, as switchyard_pool_hold says it: 'operator' (a switchover, until an
   * operator fails back), 'failover' (a failover under failback 'manual'), or 'none'.
   */
  hold: 'none' | 'failover' | 'operator'
  targets: TargetStatusView[]
}

export interface TargetStatusView {
  /** host:port */
  id: string
  url: string
  backup: boolean
  weight: number
  state: TargetState
  inFlight: number
  /** Of those, open WebSocket tunnels: they keep a drain `draining` until they close (disable closes them). */
  tunnels: number
  /** Attempts sent to this target since start. */
  requests: number
  /** Attempts the target failed (5xx in failureStatuses, connect failures, resets, timeouts). */
  failures: number
  /** The last active health check, if the pool has them. */
  lastCheck?: { ok: boolean; at: string; status?: number; error?: string }
}

export interface RouteStatus {
  /**
   * The routing table's id: host (or '*') and path, then methods in brackets and headers in braces when the route
   * has them, e.g. '*' + '/api [GET]'. Unique per route in a valid config.
   */
  id: string
  /** When set, the route's name in the admin API (POST /routes/:route/canary) and metrics; else its id is. */
  name?: string
  path: string
  pool: string
  methods?: string[]
  host?: string
  headers?: Record<string, string>
  /** Read/write split: reads go to `reads.pool` unless pinned (read-your-writes) or falling back. */
  reads?: { pool: string; methods: string[]; stickyAfterWriteMs: number; maxLagMs?: number; fallback: boolean }
  canary?: {
    pool: string
    weight: number
    /** Where the weight came from: the config file, an operator, or an automatic rollback. */
    weightSource: 'file' | 'operator' | 'rollback'
    /** Requests and errors per version over the rollback window. */
    window: { canary: { requests: number; errors: number }; stable: { requests: number; errors: number } }
  }
  mirror?: { pool: string; percent: number; maxConcurrent: number; inFlight: number }
}

/** One line of the event feed (GET /events, and the dashboard's live stream). */
export interface GatewayEvent {
  /** ISO time */
  at: string
  kind: 'breaker' | 'target' | 'tier' | 'drain' | 'reload' | 'reload-rejected' | 'switchover' | 'canary' | 'split'
  pool?: string
  target?: string
  route?: string
  /** One short sentence, e.g. 'circuit breaker open', 'target ejected', 'config reloaded: routes +1 -0 ~0, …'. */
  message: string
  /** Problems of a rejected reload, each 'path: sentence'. */
  problems?: string[]
  /**
   * Why the health checks took a target out ('target unhealthy'): the failing probe's unexpected status, or the
   * error code of a probe that got no answer (e.g. ECONNREFUSED, CERT_HAS_EXPIRED, timeout).
   */
  check?: FailedCheck
}

export type FailedCheck = { status: number } | { error: string }
