// A gateway's metrics: its own series (never shared with another gateway in the process), the bindings the
// hot path records through (cached, one per route, pool and target), forgetting what a reload removed (a route's
// (route, pool) series go after the first scrape that shows their final counts), and the /metrics text.
import { ERRORS, type ErrorCode } from '../errors.ts'
import { CONFIG_RELOAD_RESULTS, UNANSWERED_REFUSALS, type ConfigReloadResult, type ConnectionDropReason, type UnansweredRefusal } from './catalogue.ts'
import type { CounterSeries } from './counter.ts'
import { TextWriter } from './exposition.ts'
import { createFamilies, renderFamilies, type Families } from './families.ts'
import { processRegistry } from './process.ts'
import { RetiredBindings } from './retired.ts'
import { RouteBinding, RouteSeries, type RouteMetrics } from './route.ts'
import { fillStateGauges, type MetricsSnapshotSource } from './snapshot.ts'
import { PoolBinding, TargetBinding, type PoolMetrics, type TargetMetrics } from './upstream.ts'

export interface GatewayMetricsOptions {
  /** Append Node's default process metrics (process_*, nodejs_*, from prom-client) to render(); default true. */
  defaultMetrics?: boolean
  source?: MetricsSnapshotSource
  /** How long a render writes before the event loop gets a turn (default SLICE_MS; 0: between every slice). */
  sliceMs?: number
}

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE, without loading prom-client for it. */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** How long a render writes before it lets the event loop take its turn (GatewayMetrics.render). */
const SLICE_MS = 5

interface RouteEntry {
  readonly series: RouteSeries
  readonly byPool: Map<string, RouteBinding>
}

export class GatewayMetrics {
  /** Prometheus text format 0.0.4, what render() produces. */
  readonly contentType: string = PROMETHEUS_CONTENT_TYPE
  readonly #families: Families = createFamilies()
  readonly #out = new TextWriter()
  /** The render under way, if one is. */
  #rendering: Promise<Buffer> | undefined
  readonly #defaultMetrics: boolean
  readonly #sliceMs: number
  #source: MetricsSnapshotSource | undefined
  #configHash: (() => string) | undefined
  readonly #reloads = new Map<ConfigReloadResult, CounterSeries>()
  /** By error code, bound at its first refusal (a bounded set: the catalogue's codes). */
  readonly #refusals = new Map<ErrorCode | UnansweredRefusal, CounterSeries>()
  /** Bound at the first drop of each reason (none exported before: a fresh gateway's exposition stays as it was). */
  readonly #drops = new Map<ConnectionDropReason, CounterSeries>()
  readonly #routes = new Map<string, RouteEntry>()
  /**
   * The (route, pool) bindings a reload forgot: still exported, each counts its requests in flight as they end, and
   * goes at the first render after it is idle (a scrape sees the final counts, not the pair's requests since the last
   * scrape, nor a pool's last and slowest, lost to every rate). route() asked for the pair again takes it back.
   */
  readonly #retired = new RetiredBindings()
  readonly #pools = new Map<string, PoolBinding>()
  /** pool → target id → binding */
  readonly #targets = new Map<string, Map<string, TargetBinding>>()

  constructor (options: GatewayMetricsOptions = {}) {
    this.#defaultMetrics = options.defaultMetrics ?? true
    this.#sliceMs = options.sliceMs ?? SLICE_MS
    this.#source = options.source
    // every result exported from the start at 0, so rate() and increase() see the first reload
    for (const result of CONFIG_RELOAD_RESULTS) this.#reloads.set(result, this.#families.configReloads.series([result]))
    // the config the gateway started with was accepted (a gateway whose config is rejected never starts)
    this.#families.configLastReloadSuccessful.set([], 1)
  }

  /** Where the state gauges are read from at each render (undefined: none exported). */
  setSource (source: MetricsSnapshotSource | undefined): void { this.#source = source }

  /**
   * The binding for a route's requests to a pool: the same object for the same pair until forgotten, and after, while
   * it is retired (the same series: a second binding would lose them when the first is detached).
   */
  route (routeId: string, pool: string): RouteMetrics {
    let entry = this.#routes.get(routeId)
    if (entry === undefined) {
      entry = { series: new RouteSeries(this.#families, routeId), byPool: new Map() }
      this.#routes.set(routeId, entry)
    }
    let binding = entry.byPool.get(pool)
    if (binding === undefined) {
      binding = this.#retired.take(routeId, pool)
      binding?.revive(entry.series)
      binding ??= new RouteBinding(this.#families, routeId, pool, entry.series)
      entry.byPool.set(pool, binding)
    }
    return binding
  }

  pool (pool: string): PoolMetrics {
    let binding = this.#pools.get(pool)
    if (binding === undefined) {
      binding = new PoolBinding(this.#families, pool)
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
      binding = new TargetBinding(this.#families, pool, targetId)
      targets.set(targetId, binding)
    }
    return binding
  }

  /**
   * Drops every series of a route (with each of its pools, and its route-only series). Its (route, pool) bindings are
   * retired (#retired); the route-only series go at once (a removed route's plan events count nowhere: app.ts
   * seriesOf), and keep accepting calls but count nowhere, so a late call cannot bring the series back; route() hands
   * out a fresh binding (or takes a retired one back).
   */
  forgetRoute (routeId: string): void {
    const entry = this.#routes.get(routeId)
    if (entry === undefined) return
    for (const binding of entry.byPool.values()) this.#retired.retire(binding)
    entry.series.detach()
    this.#routes.delete(routeId)
  }

  /** The pools a route's requests are counted under now (bound and not forgotten: retired ones are not). */
  routePools (routeId: string): string[] {
    return [...this.#routes.get(routeId)?.byPool.keys() ?? []]
  }

  /**
   * Drops a route's requests and durations to one pool (a reload moved the route, or took its canary or replicas
   * away, and the pool itself stays); its other pools and route-only series stay. Retired (#retired): exported
   * until the first render after it is idle.
   */
  forgetRoutePool (routeId: string, pool: string): void {
    const byPool = this.#routes.get(routeId)?.byPool
    const binding = byPool?.get(pool)
    if (binding === undefined) return
    this.#retired.retire(binding)
    byPool!.delete(pool)
  }

  /**
   * Drops every series labelled with this pool: its routes' requests and durations (retired: exported until the first
   * render after each is idle), retries, budget, attempts (at once: a removed pool's late attempts and retries count
   * nowhere, app.ts poolObserver).
   */
  forgetPool (pool: string): void {
    for (const entry of this.#routes.values()) {
      const binding = entry.byPool.get(pool)
      if (binding === undefined) continue
      this.#retired.retire(binding)
      entry.byPool.delete(pool)
    }
    this.#pools.get(pool)?.detach()
    this.#pools.delete(pool)
    for (const binding of this.#targets.get(pool)?.values() ?? []) binding.detach()
    this.#targets.delete(pool)
  }

  forgetTarget (pool: string, targetId: string): void {
    const targets = this.#targets.get(pool)
    targets?.get(targetId)?.detach()
    targets?.delete(targetId)
  }

  /**
   * A request the gateway answered itself before any route took it, or whose client left before one did
   * (client_closed): its route's series never see it.
   */
  refused (error: ErrorCode | UnansweredRefusal): void {
    let series = this.#refusals.get(error)
    if (series === undefined) {
      const status = Object.hasOwn(UNANSWERED_REFUSALS, error) ? UNANSWERED_REFUSALS[error as UnansweredRefusal] : ERRORS[error as ErrorCode].status
      this.#refusals.set(error, series = this.#families.refusedRequests.series([String(status), error]))
    }
    series.inc()
  }

  /** A client connection the public listener closed without serving it. */
  connectionDropped (reason: ConnectionDropReason): void {
    let series = this.#drops.get(reason)
    if (series === undefined) this.#drops.set(reason, series = this.#families.connectionsDropped.series([reason]))
    series.inc()
  }

  /**
   * A reload that judged the config on disk (app.ts counts neither one refused while shutting down nor one the
   * gateway's own shortage failed): the gauge stays 0 after a rejection until a reload accepts the file, so an alert
   * on it lasts as long as the bad file does, where one on the counter's increase resolves on its own.
   */
  configReload (result: ConfigReloadResult): void {
    this.#reloads.get(result)?.inc()
    this.#families.configLastReloadSuccessful.set([], result === 'error' ? 0 : 1)
  }

  /** Names the configuration in force: its hash, read at every render (only the latest is exported). */
  setConfigInfo (hash: () => string): void { this.#configHash = hash }

  /**
   * The Prometheus text exposition (serve it with `contentType`). A large one is written in slices with the event
   * loop's turn between them (5,000 routes: ~180,000 series, 60 ms written at once), so requests wait at most one
   * slice. A render() called while one runs gets that one's text: the state gauges are refilled at each start, and
   * two renders interleaved would write one series twice.
   */
  async render (): Promise<string> {
    return (await this.renderBytes()).toString('utf8')
  }

  /** render()'s text as UTF-8 bytes: what /metrics sends. */
  renderBytes (): Promise<Buffer> {
    return this.#rendering ??= this.#renderOnce().finally(() => { this.#rendering = undefined })
  }

  async #renderOnce (): Promise<Buffer> {
    fillStateGauges(this.#families, this.#source)
    this.#families.configInfo.clear()
    if (this.#configHash !== undefined) this.#families.configInfo.set([this.#configHash()], 1)
    const settling = this.#retired.size > 0 ? this.#retired.idle() : undefined
    try {
      let sliceFrom = performance.now()
      for (const _slice of renderFamilies(this.#families, this.#out)) {
        if (performance.now() - sliceFrom < this.#sliceMs) continue
        await new Promise((resolve) => setImmediate(resolve))
        sliceFrom = performance.now()
      }
      if (settling !== undefined) this.#retired.settle(settling)
      // the process metrics' text in the same buffer: no second copy of the whole (this render holds the writer alone)
      if (this.#defaultMetrics) this.#out.text(await (await processRegistry()).metrics())
    } catch (error) {
      // what this render wrote must not open the next one's text (every series twice)
      this.#out.take()
      if (settling !== undefined) this.#retired.settle([])
      throw error
    }
    return this.#out.take()
  }
}
