// Per-route series. A route's requests are bound per (route, pool): a canary route sends to two pools, and a
// reload may move a route to another pool. The route-only series (reads to primary, rollbacks, mirrors) are
// bound once per route and shared by its (route, pool) bindings.
import type { Counter, Histogram } from 'prom-client'
import { CounterChildren } from './children.ts'
import { KNOWN_METHODS, OTHER_METHOD, type MirrorOutcome, type ReadToPrimaryReason } from './catalogue.ts'
import type { Instruments } from './instruments.ts'

/** What the hot path records for a route; bound once, cached by GatewayMetrics.route(). */
export interface RouteMetrics {
  readonly route: string
  readonly pool: string
  /** One answered request: its method, the status sent to the client, and the time it took in seconds. */
  request (method: string, status: number, seconds: number): void
  readToPrimary (reason: ReadToPrimaryReason): void
  canaryRollback (): void
  mirror (outcome: MirrorOutcome): void
}

const KNOWN = new Set<string>(KNOWN_METHODS)

/** The requests_total children of one method label, by status code. */
interface MethodCodes {
  readonly label: string
  readonly byStatus: Map<number, Counter.Internal>
}

/** Series labelled by route alone. */
export class RouteSeries {
  readonly #readsToPrimary: CounterChildren<ReadToPrimaryReason>
  readonly #canaryRollbacks: Counter.Internal
  readonly #mirrors: CounterChildren<MirrorOutcome>
  readonly #instruments: Instruments
  readonly #route: string
  #retired = false

  constructor (instruments: Instruments, route: string) {
    this.#instruments = instruments
    this.#route = route
    this.#readsToPrimary = new CounterChildren(instruments.readsToPrimary, [route])
    this.#canaryRollbacks = instruments.canaryRollbacks.labels(route)
    this.#mirrors = new CounterChildren(instruments.mirrorRequests, [route])
  }

  readToPrimary (reason: ReadToPrimaryReason): void { if (!this.#retired) this.#readsToPrimary.inc(reason) }
  canaryRollback (): void { if (!this.#retired) this.#canaryRollbacks.inc() }
  mirror (outcome: MirrorOutcome): void { if (!this.#retired) this.#mirrors.inc(outcome) }

  /** Removes this route's series; later calls are dropped, so a request still in flight cannot bring them back. */
  retire (): void {
    this.#retired = true
    this.#readsToPrimary.remove()
    this.#instruments.canaryRollbacks.remove(this.#route)
    this.#mirrors.remove()
  }
}

export class RouteBinding implements RouteMetrics {
  readonly route: string
  readonly pool: string
  readonly #series: RouteSeries
  readonly #requests: Counter
  readonly #durationOf: Histogram
  readonly #duration: Histogram.Internal<string>
  /** Keyed by the request's method as received; only known methods are keys, so the map stays small. */
  readonly #byMethod = new Map<string, MethodCodes>()
  readonly #byLabel = new Map<string, MethodCodes>()
  #retired = false

  constructor (instruments: Instruments, route: string, pool: string, series: RouteSeries) {
    this.route = route
    this.pool = pool
    this.#series = series
    this.#requests = instruments.requests
    this.#durationOf = instruments.requestDuration
    this.#duration = instruments.requestDuration.labels(route, pool)
  }

  request (method: string, status: number, seconds: number): void {
    if (this.#retired) return
    const codes = this.#byMethod.get(method) ?? this.#codesOf(method)
    let child = codes.byStatus.get(status)
    if (child === undefined) {
      child = this.#requests.labels(this.route, this.pool, codes.label, String(status))
      codes.byStatus.set(status, child)
    }
    child.inc()
    this.#duration.observe(seconds)
  }

  readToPrimary (reason: ReadToPrimaryReason): void { this.#series.readToPrimary(reason) }
  canaryRollback (): void { this.#series.canaryRollback() }
  mirror (outcome: MirrorOutcome): void { this.#series.mirror(outcome) }

  /** Removes the (route, pool) series; later request() calls are dropped. */
  retire (): void {
    this.#retired = true
    for (const { label, byStatus } of this.#byLabel.values()) {
      for (const status of byStatus.keys()) this.#requests.remove(this.route, this.pool, label, String(status))
    }
    this.#byLabel.clear()
    this.#byMethod.clear()
    this.#durationOf.remove(this.route, this.pool)
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
