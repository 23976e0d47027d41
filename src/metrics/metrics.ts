// A gateway's metrics: its own registry, the bindings the hot path records through (cached, one per route,
// pool and target), forgetting what a reload removed, and the /metrics text.
import { Registry } from 'prom-client'
import { CONFIG_RELOAD_RESULTS, type ConfigReloadResult } from './catalogue.ts'
import { createInstruments, type Instruments } from './instruments.ts'
import { processRegistry } from './process.ts'
import { RouteBinding, RouteSeries, type RouteMetrics } from './route.ts'
import { fillStateGauges, type MetricsSnapshotSource } from './snapshot.ts'
import { PoolBinding, TargetBinding, type PoolMetrics, type TargetMetrics } from './upstream.ts'

export interface GatewayMetricsOptions {
  /** Append Node's default process metrics (process_*, nodejs_*) to render(); default true. */
  defaultMetrics?: boolean
  source?: MetricsSnapshotSource
}

interface RouteEntry {
  readonly series: RouteSeries
  readonly byPool: Map<string, RouteBinding>
}

export class GatewayMetrics {
  readonly contentType: string = Registry.PROMETHEUS_CONTENT_TYPE
  readonly #registry = new Registry()
  readonly #instruments: Instruments
  readonly #defaultMetrics: boolean
  #source: MetricsSnapshotSource | undefined
  readonly #routes = new Map<string, RouteEntry>()
  readonly #pools = new Map<string, PoolBinding>()
  /** pool → target id → binding */
  readonly #targets = new Map<string, Map<string, TargetBinding>>()

  constructor (options: GatewayMetricsOptions = {}) {
    this.#instruments = createInstruments(this.#registry)
    this.#defaultMetrics = options.defaultMetrics ?? true
    this.#source = options.source
    // every result present from the start at 0, so rate() and increase() see the first reload
    for (const result of CONFIG_RELOAD_RESULTS) this.#instruments.configReloads.labels(result).inc(0)
  }

  setSource (source: MetricsSnapshotSource | undefined): void { this.#source = source }

  /** The binding for a route's requests to a pool; the same object for the same pair until forgotten. */
  route (routeId: string, pool: string): RouteMetrics {
    let entry = this.#routes.get(routeId)
    if (entry === undefined) {
      entry = { series: new RouteSeries(this.#instruments, routeId), byPool: new Map() }
      this.#routes.set(routeId, entry)
    }
    let binding = entry.byPool.get(pool)
    if (binding === undefined) {
      binding = new RouteBinding(this.#instruments, routeId, pool, entry.series)
      entry.byPool.set(pool, binding)
    }
    return binding
  }

  pool (pool: string): PoolMetrics {
    let binding = this.#pools.get(pool)
    if (binding === undefined) {
      binding = new PoolBinding(this.#instruments, pool)
      this.#pools.set(pool, binding)
    }
    return binding
  }

  target (pool: string, targetId: string): TargetMetrics {
    let targets = this.#targets.get(pool)
    if (targets === undefined) {
      targets = new Map()
      this.#targets.set(pool, targets)
    }
    let binding = targets.get(targetId)
    if (binding === undefined) {
      binding = new TargetBinding(this.#instruments, pool, targetId)
      targets.set(targetId, binding)
    }
    return binding
  }

  /**
   * Drops every series of a route (all its pools, and its route-only series). Bindings handed out before
   * keep working as no-ops, so requests still in flight cannot bring the series back; ask route() again for a new one.
   */
  forgetRoute (routeId: string): void {
    const entry = this.#routes.get(routeId)
    if (entry === undefined) return
    for (const binding of entry.byPool.values()) binding.retire()
    entry.series.retire()
    this.#routes.delete(routeId)
  }

  /** Drops every series labelled with this pool: its routes' requests and durations, retries, budget, targets. */
  forgetPool (pool: string): void {
    for (const entry of this.#routes.values()) {
      entry.byPool.get(pool)?.retire()
      entry.byPool.delete(pool)
    }
    this.#pools.get(pool)?.retire()
    this.#pools.delete(pool)
    for (const binding of this.#targets.get(pool)?.values() ?? []) binding.retire()
    this.#targets.delete(pool)
  }

  forgetTarget (pool: string, targetId: string): void {
    const targets = this.#targets.get(pool)
    targets?.get(targetId)?.retire()
    targets?.delete(targetId)
  }

  configReload (result: ConfigReloadResult): void {
    this.#instruments.configReloads.labels(result).inc()
  }

  /** Marks the configuration in force; only the latest hash is exported. */
  setConfigInfo (hash: string): void {
    const info = this.#instruments.configInfo
    info.reset()
    info.set({ hash }, 1)
  }

  /** The Prometheus text exposition (serve it with `contentType`). */
  async render (): Promise<string> {
    fillStateGauges(this.#instruments, this.#source)
    const own = await this.#registry.metrics()
    return this.#defaultMetrics ? own + '\n' + await processRegistry().metrics() : own
  }
}
