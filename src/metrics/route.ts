// Per-route series. A route's requests are bound per (route, pool): a canary route sends to two pools, and a
// reload may move a route to another pool. The route-only series (reads to primary, rollbacks, mirrors) are
// bound once per route and shared by its (route, pool) bindings. A binding counts its requests in flight, so a
// reload that forgets it keeps its series until they are counted and a scrape has seen them (src/metrics/retired.ts).
import { bindOrOrphan, CounterChildren, LazySeries } from './children.ts'
import { KNOWN_METHODS, OTHER_METHOD, type MirrorOutcome, type ReadToPrimaryReason } from './catalogue.ts'
import type { CounterFamily, CounterSeries } from './counter.ts'
import type { Families } from './families.ts'
import type { HistogramFamily, HistogramSeries } from './histogram.ts'

/** What the hot path records for a route; bound once, cached by GatewayMetrics.route(). */
export interface RouteMetrics {
  readonly route: string
  readonly pool: string
  /** A request that request() will count here: in flight until then. */
  begin (): void
  /** Begun here, counted by another binding (a split read begins on the replicas' and the primary's): no longer in flight here. */
  leave (): void
  /** One answered request, which ends it: its method, the status sent to the client, and the time it took in seconds. */
  request (method: string, status: number, seconds: number): void
  /** The error code of a request's access-log line (the catalogue's: a bounded set). */
  error (code: string): void
  readToPrimary (reason: ReadToPrimaryReason): void
  canaryRollback (): void
  mirror (outcome: MirrorOutcome): void
}

const KNOWN = new Set<string>(KNOWN_METHODS)

/** The requests_total series of one method label, by status code. */
interface MethodCodes {
  readonly label: string
  readonly byStatus: Map<number, CounterSeries>
}

/** Series labelled by route alone. */
export class RouteSeries {
  readonly #readsToPrimary: CounterChildren<ReadToPrimaryReason>
  readonly #rollbacks: LazySeries
  readonly #mirrors: CounterChildren<MirrorOutcome>

  constructor (families: Families, route: string) {
    this.#readsToPrimary = new CounterChildren(families.readsToPrimary, [route])
    this.#rollbacks = new LazySeries(families.canaryRollbacks, [route])
    this.#mirrors = new CounterChildren(families.mirrorRequests, [route])
  }

  readToPrimary (reason: ReadToPrimaryReason): void { this.#readsToPrimary.inc(reason) }
  canaryRollback (): void { this.#rollbacks.inc() }
  mirror (outcome: MirrorOutcome): void { this.#mirrors.inc(outcome) }

  /** Removes this route's series; later calls count nowhere, so a request still in flight cannot bring them back. */
  detach (): void {
    this.#readsToPrimary.detach()
    this.#rollbacks.detach()
    this.#mirrors.detach()
  }
}

export class RouteBinding implements RouteMetrics {
  readonly route: string
  readonly pool: string
  /** The route's, replaced when a route a reload removed comes back while this binding was retired (revive()). */
  #series: RouteSeries
  readonly #requests: CounterFamily
  readonly #durations: HistogramFamily
  readonly #errors: CounterChildren<string>
  /** Bound at the first request: a binding that records no request holds no histogram (~0.8 KiB). */
  #duration: HistogramSeries | undefined
  /** Keyed by the request's method as received; only known methods become keys, so the map stays small. */
  readonly #byMethod = new Map<string, MethodCodes>()
  readonly #byLabel = new Map<string, MethodCodes>()
  #detached = false
  /** Begun and not yet counted; below 0 only for a caller that never calls begin() (counted as none). */
  #inFlight = 0

  constructor (families: Families, route: string, pool: string, series: RouteSeries) {
    this.route = route
    this.pool = pool
    this.#series = series
    this.#requests = families.requests
    this.#durations = families.requestDuration
    this.#errors = new CounterChildren(families.requestErrors, [route, pool])
  }

  begin (): void { this.#inFlight++ }
  leave (): void { this.#inFlight-- }

  /** Whether a request begun here has yet to be counted (a retired binding stays exported until none has). */
  get busy (): boolean { return this.#inFlight > 0 }

  request (method: string, status: number, seconds: number): void {
    this.#inFlight--
    const codes = this.#byMethod.get(method) ?? this.#codesOf(method)
    let series = codes.byStatus.get(status)
    if (series === undefined) {
      series = bindOrOrphan(this.#requests, [this.route, this.pool, codes.label, String(status)], this.#detached)
      codes.byStatus.set(status, series)
    }
    series.inc()
    ;(this.#duration ??= this.#detached ? this.#durations.orphan() : this.#durations.series([this.route, this.pool])).observe(seconds)
  }

  error (code: string): void { this.#errors.inc(code) }
  readToPrimary (reason: ReadToPrimaryReason): void { this.#series.readToPrimary(reason) }
  canaryRollback (): void { this.#series.canaryRollback() }
  mirror (outcome: MirrorOutcome): void { this.#series.mirror(outcome) }

  /** Back in use by its route (a later reload bound the pair again): its route-only series are the route's now. */
  revive (series: RouteSeries): void { this.#series = series }

  /** Removes the (route, pool) series; later request() calls count nowhere. */
  detach (): void {
    this.#detached = true
    for (const { label, byStatus } of this.#byLabel.values()) {
      for (const status of byStatus.keys()) this.#requests.remove([this.route, this.pool, label, String(status)])
    }
    this.#durations.remove([this.route, this.pool])
    this.#errors.detach()
  }

  #codesOf (method: string): MethodCodes {
    const label = KNOWN.has(method) ? method : OTHER_METHOD
    let codes = this.#byLabel.get(label)
    if (codes === undefined) {
      codes = { label, byStatus: new Map() }
      this.#byLabel.set(label, codes)
    }
    // any other method shares the '_OTHER' entry without becoming a key: a client cannot grow this map
    if (label === method) this.#byMethod.set(method, codes)
    return codes
  }
}
