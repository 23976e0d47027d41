// What travels between the admin listener and the dashboard page. Types only: the page's bundle keeps none of it.
// The status document is the admin API's (status-types.ts); the optional extensions below are places for data
// the gateway does not report yet (canary and read/write split routes, "since when"): the page draws them when present.
import type { TrafficSummary } from '../history.ts'
import type { GatewayEvent, PoolStatus, RouteStatus, StatusDocument, TargetStatusView } from '../status-types.ts'

export type { GatewayEvent, TrafficSummary }
export type { PoolSeries, TargetTraffic } from '../history.ts'

export interface CanaryRollbackView {
  /** ISO time */
  at: string
  previousWeight: number
  requests: number
  errors: number
  errorRatePercent: number
}

/** A canary route: share of its requests sent to the canary pool. */
export interface CanaryView {
  /** The canary's pool (the route's own pool is the stable one). */
  pool: string
  /** Percent, 0-100. */
  weight: number
  /** Who set the weight: the config file, an operator, or an automatic rollback. */
  weightSource?: 'file' | 'operator' | 'rollback'
  rollbacks?: CanaryRollbackView[]
}

/** A read/write split route: writes to the route's pool, reads to readPool unless it has fallen back. */
export interface SplitView {
  readPool: string
  /** true while reads go to the write pool because no replica is fit (all down or lagging). */
  fallbackActive: boolean
  /** Why reads fell back, one short sentence. */
  fallbackReason?: string
  stickyAfterWriteMs?: number
}

export type DashboardRoute = Omit<RouteStatus, 'canary' | 'reads'> & { canary?: CanaryView; split?: SplitView }

/** ISO time the target entered its current state. */
export type DashboardTarget = TargetStatusView & { since?: string }

export type DashboardPool = Omit<PoolStatus, 'targets'> & {
  targets: DashboardTarget[]
  /** ISO time the breaker last changed state. */
  circuitSince?: string
  /** ISO time traffic moved to the active tier. */
  activeTierSince?: string
}

/** StatusDocument plus the optional extensions; every StatusDocument is one. */
export type DashboardStatus = Omit<StatusDocument, 'routes' | 'pools'> & {
  routes: DashboardRoute[]
  pools: Record<string, DashboardPool>
}

/**
 * The data of each `routes` message of GET /live: every route as the running config has it. Sent when a watcher
 * connects and after a reload that changed the routes, always before the snapshot built over it.
 */
export type LiveRoutes = DashboardRoute[]

/** The data of each `snapshot` message of GET /live. */
export interface LiveSnapshot {
  /** The gateway's clock (epoch ms), so the page counts down without trusting the browser's. */
  now: number
  /** The status document but its routes: the last `routes` message has those. */
  status: Omit<DashboardStatus, 'routes'>
  /**
   * The routes whose state moves between reloads (a read/write split's fallback, a canary's weight and window, a
   * mirror's requests in flight), each by its index in the last `routes` message, whose entry it replaces.
   */
  routeState: Record<number, DashboardRoute>
  /** The last few points of each pool (the page merges them by time) and every target's last minute. */
  traffic: TrafficSummary
}

/** A snapshot with its routes put back together: what the page draws. */
export type DashboardSnapshot = Omit<LiveSnapshot, 'status' | 'routeState'> & { status: DashboardStatus }

/** GET /dashboard/config.json */
export interface DashboardConfig {
  tokenRequired: boolean
  /** Set when actions cannot work at all (e.g. no token configured on a non-loopback admin host). */
  actionsDisabledReason?: string
}
