// Builds GET /status: the running config's identity, readiness, every pool with its targets, every route.
import type { ResolvedConfig, RouteConfig } from '../config/schema.ts'
import type { RoutingTable } from '../routing/table.ts'
import type { GatewayState } from '../state.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { Target } from '../upstream/target.ts'
import type { PoolStatus, RouteStatus, StatusDocument, TargetStatusView } from './status-types.ts'

export interface StatusContext {
  version: string
  configFile: string | undefined
  config: ResolvedConfig
  configLoadedAt: number
  configHash: string
  restartRequired: readonly string[]
  readiness: StatusDocument['readiness']
  state: GatewayState
  tunnels: number
  /** Runtimes a reload retired whose names no running pool had then (one may have come back since). */
  removedPools: Iterable<PoolRuntime>
}

export function buildStatus (ctx: StatusContext): StatusDocument {
  const pools: Record<string, PoolStatus> = {}
  for (const [name, runtime] of ctx.state.pools) pools[name] = poolStatus(runtime)
  const removedPools: StatusDocument['removedPools'] = {}
  for (const runtime of ctx.removedPools) {
    // requests admitted to the pool (one waiting out a retry's backoff holds no target, and is counted), and tunnels
    const tunnels = tunnelsOf(runtime)
    const inFlight = runtime.budget.active + tunnels
    if (inFlight === 0) continue
    // a name removed twice (removed, added back, removed again) while the first one's requests run: theirs together
    const seen = removedPools[runtime.name] ?? { inFlight: 0, tunnels: 0 }
    removedPools[runtime.name] = { inFlight: seen.inFlight + inFlight, tunnels: seen.tunnels + tunnels }
  }
  const described = describedRoutes(ctx.config.routes, ctx.state.table)
  const plans = ctx.state.plans === undefined || ctx.state.plans.size === 0 ? undefined : new Map([...ctx.state.plans.values()].map((p) => [p.route.index, p]))
  const routes: RouteStatus[] = ctx.config.routes.map((r, i) => {
    const route = described[i]!
    if (r.reads === undefined && r.canary === undefined && r.mirror === undefined) return route
    const plan = plans?.get(i)
    const status: RouteStatus = { ...route }
    if (r.reads !== undefined) {
      status.reads = { pool: r.reads.pool, methods: [...r.reads.methods], stickyAfterWriteMs: r.reads.stickyAfterWriteMs, ...(r.reads.maxLagMs !== undefined ? { maxLagMs: r.reads.maxLagMs } : {}), fallback: plan?.fallback ?? false }
    }
    if (r.canary !== undefined && plan?.canary !== undefined) {
      const decider = plan.canary.decider
      status.canary = { pool: r.canary.pool, weight: decider.weight, weightSource: decider.weightSource, window: decider.stats() }
    }
    if (r.mirror !== undefined) status.mirror = { ...r.mirror, inFlight: plan?.mirrorsInFlight ?? 0 }
    return status
  })
  return {
    version: ctx.version,
    configFile: ctx.configFile,
    configLoadedAt: new Date(ctx.configLoadedAt).toISOString(),
    configHash: ctx.configHash,
    restartRequired: [...ctx.restartRequired],
    readiness: ctx.readiness,
    tunnels: ctx.tunnels,
    pools,
    removedPools,
    routes,
  }
}

/**
 * What each route of a config is, as the status shows it (without the state of its reads, canary and mirror): built
 * once per config and routing table, as only a reload changes it. The live dashboard builds the status every second:
 * rebuilt each time, 5,000 routes were most of that work.
 */
const describedByConfig = new WeakMap<readonly RouteConfig[], { table: RoutingTable; routes: readonly DescribedRoute[] }>()

/** A route without what moves between reloads (its reads, canary and mirror state). */
export type DescribedRoute = Omit<RouteStatus, 'reads' | 'canary' | 'mirror'>

/**
 * The same array for as long as the config and routing table are the same; buildStatus passes a route without
 * reads, canary or mirror as its object here (the dashboard's live stream leaves those out of its snapshots).
 */
export function describedRoutes (routes: readonly RouteConfig[], table: RoutingTable): readonly DescribedRoute[] {
  const cached = describedByConfig.get(routes)
  if (cached !== undefined && cached.table === table) return cached.routes
  const ids = new Map(table.routes.map((route) => [route.index, route.id]))
  const built = routes.map((r, i): DescribedRoute => Object.freeze({
    // the routing table's id: unique in a valid config, and (with no name) what POST /routes/:route/canary takes
    id: ids.get(i) ?? r.path,
    ...(r.name !== undefined ? { name: r.name } : {}),
    path: r.path,
    pool: r.pool,
    // frozen all through: every document shares them
    ...(r.methods !== undefined ? { methods: Object.freeze([...r.methods]) as string[] } : {}),
    ...(r.host !== undefined ? { host: r.host } : {}),
    ...(r.headers !== undefined ? { headers: Object.freeze({ ...r.headers }) } : {}),
  }))
  describedByConfig.set(routes, { table, routes: built })
  return built
}

/** Open WebSocket tunnels to a pool's targets, each upstream's counted once (copies share their counts). */
export function tunnelsOf (runtime: PoolRuntime): number {
  const counted = new Set<Target['shared']>()
  let tunnels = 0
  for (const t of [...runtime.pool.targets, ...runtime.pool.retiring]) {
    if (counted.has(t.shared)) continue
    counted.add(t.shared)
    tunnels += t.tunnels
  }
  return tunnels
}

export function poolStatus (runtime: PoolRuntime): PoolStatus {
  const { pool, breaker } = runtime
  const tier = pool.tier
  const retryAfter = breaker.state === 'open' ? breaker.retryAfterSeconds() : undefined
  const targets: TargetStatusView[] = []
  const listed = new Map<string, TargetStatusView>()
  // copies sharing one upstream's counts (in flight, tunnels: theirs together already) are counted once
  const counted = new Set<Target['shared']>()
  for (const t of [...pool.targets, ...pool.retiring]) {
    const same = listed.get(t.id)
    if (same !== undefined) {
      // A target a reload replaced (a new weight or backup flag) is the same upstream: the old copy's requests are
      // its own, and a drain is not done until they are. One entry per id, so "wait until drained" cannot read the
      // new copy's state while the old one still has requests in flight.
      if (!counted.has(t.shared)) {
        same.inFlight += t.inFlight
        same.tunnels += t.tunnels
        counted.add(t.shared)
      }
      if (same.state === 'drained' && t.inFlight > 0) same.state = 'draining'
      continue
    }
    counted.add(t.shared)
    const last = runtime.health?.lastResult(t)
    const view: TargetStatusView = {
      id: t.id,
      url: t.url,
      backup: t.backup,
      weight: t.weight,
      state: pool.state(t),
      inFlight: t.inFlight,
      tunnels: t.tunnels,
      requests: t.requests,
      failures: t.failures,
      ...(last !== undefined
        ? { lastCheck: { ok: last.ok, at: new Date(last.at).toISOString(), ...(last.status !== undefined ? { status: last.status } : {}), ...(last.error !== undefined ? { error: last.error } : {}) } }
        : {}),
    }
    targets.push(view)
    listed.set(t.id, view)
  }
  return {
    circuit: breaker.state,
    ...(retryAfter !== undefined ? { circuitRetryAfterSeconds: retryAfter } : {}),
    activeTier: tier,
    // held on the backups (an operator's switchover, or a failover under failback 'manual'), not merely on them
    switchover: pool.hold !== undefined ? 'manual' : 'auto',
    hold: pool.hold ?? 'none',
    targets,
  }
}
