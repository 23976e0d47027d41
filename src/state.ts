// What the proxy routes with: the routing table and the pools it names. Swapped whole on reload; a request
// keeps the state it started with.
import type { ErrorCode } from './errors.ts'
import type { RoutePlan } from './release/plans.ts'
import type { Route, RoutingTable } from './routing/table.ts'
import type { PoolRuntime } from './upstream/registry.ts'

export interface GatewayState {
  readonly table: RoutingTable
  readonly pools: ReadonlyMap<string, PoolRuntime>
  /** Per-route request counters (metrics), bound at each route's first request. */
  readonly observers?: RouteObservers
  /** Read/write splits, canaries and mirrors of the routes that have them. */
  readonly plans?: ReadonlyMap<Route, RoutePlan>
}

/** Counts the answers the gateway gives before any route takes a request (implemented by the metrics). */
export interface RefusalObserver {
  /** client_closed: no answer, its client left first (src/metrics/catalogue.ts UNANSWERED_REFUSALS). */
  refused (error: ErrorCode | 'client_closed'): void
}

/**
 * A request is in flight on the observer it will be counted under, from begin() to request(): a reload that takes
 * the route off the pool keeps the series until the requests begun there are counted (src/metrics/metrics.ts).
 */
export interface RouteObserver {
  /** The request is counted here once it ends. */
  begin (): void
  /**
   * Begun here, it is counted under another observer: a split read begins on the replicas' and the primary's (it
   * may fall back), and leaves the one that does not count it.
   */
  leave (): void
  /** Once per request begun, at its end. */
  request (method: string, status: number, seconds: number): void
  /** The error code its access-log line gives (counted apart from the status, which an upstream may answer too). */
  error (code: string): void
}

export interface RouteObservers {
  /** The route's counters for requests `pool` served (the route's own, its canary's, its replicas'). */
  get (route: Route, pool: string): RouteObserver
}
