// Recent traffic for the dashboard, in memory: per pool, one point a second for the last 5 minutes (req/s,
// errors/s, p99); per target, the last minute (req/s, error rate, p99). Not a database: fixed rings, nothing grows.
//
// record() is on the hot path: two Map lookups and a few counter increments, no allocation once a target has been
// seen. sample() runs once a second (start() schedules it on the injected clock) and does the rolling.
// Percentiles come from a fixed log-scale histogram, never from sorting durations.
import { monotonicMs, systemClock, type Clock, type Timer } from '../runtime.ts'

/**
 * A pool's recent seconds, oldest first, as columns (what a chart wants). p99 is null without requests. t is epoch ms
 * on an axis that never steps: the wall time of the first sample plus the monotonic time since (TrafficHistory.sample).
 */
export interface PoolSeries {
  t: number[]
  rps: number[]
  errors: number[]
  p99: (number | null)[]
}

/** A target over the last minute (or since it was first seen, if that is shorter). */
export interface TargetTraffic {
  rps: number
  /** Failed share of attempts, 0..1 (0 without attempts). */
  errorRate: number
  /** ms, null without attempts. */
  p99: number | null
}

export interface TrafficSummary {
  pools: Record<string, PoolSeries>
  /** pool → target id (host:port) → last minute */
  targets: Record<string, Record<string, TargetTraffic>>
}

export interface TrafficHistoryOptions {
  clock?: Clock
  /** Points kept per pool (default 300: five minutes at one a second). */
  points?: number
  /** Seconds a target's stats cover (default 60). */
  windowSeconds?: number
  /** Sampling period of start() (default 1000 ms). */
  intervalMs?: number
}

// ---- latency histogram layout: four buckets per doubling from 1/16 ms to 65 s, so a value is within ±9% ----
const PER_DOUBLING = 4
const MIN_EXPONENT = -4
const MAX_EXPONENT = 16
/** Bucket i holds durations in (bound(i-1), bound(i)]; the last one holds everything above the top bound. */
export const LATENCY_BUCKETS = (MAX_EXPONENT - MIN_EXPONENT) * PER_DOUBLING + 2
const LAST_BUCKET = LATENCY_BUCKETS - 1

const FIRST_BOUND = 2 ** MIN_EXPONENT

function upperBound (index: number): number {
  return 2 ** (MIN_EXPONENT + Math.min(index, LAST_BUCKET - 1) / PER_DOUBLING)
}

/** The bucket a duration (ms) falls in: O(1), no allocation. */
export function latencyBucket (durationMs: number): number {
  if (!(durationMs > FIRST_BOUND)) return 0 // NaN and negatives count as instant rather than poison the stats
  const index = Math.ceil((Math.log2(durationMs) - MIN_EXPONENT) * PER_DOUBLING - 1e-9)
  return index > LAST_BUCKET ? LAST_BUCKET : index
}

/** What a bucket reports: the geometric middle of its range (the bound itself for the first and last buckets). */
export function bucketValue (index: number): number {
  if (index <= 0 || index >= LAST_BUCKET) return upperBound(index)
  return upperBound(index) * 2 ** (-0.5 / PER_DOUBLING)
}

/** The q-quantile (0 < q ≤ 1) of `total` observations counted in `counts`, or null when there are none. */
export function quantile (counts: ArrayLike<number>, total: number, q: number): number | null {
  if (total <= 0) return null
  const rank = Math.ceil(q * total)
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!
    if (seen >= rank) return bucketValue(i)
  }
  return bucketValue(counts.length - 1)
}

// ---- per-target counters: the second being counted, plus a ring of the last windowSeconds seconds ----
// Latencies are kept per slot of several seconds, not per second: a target's histogram rolls once a slot, so a
// pool of 1,000 targets costs a few scalar updates per target each second (rolling 1,000 histograms every
// second showed in the per-request CPU), and a target holds 6 histograms (2 KB), not 60 (20 KB).
const SLOTS_PER_WINDOW = 6

class TargetCounters {
  count = 0
  errors = 0
  /** The slot being counted (its seconds so far, the open one included). */
  readonly histogram = new Uint32Array(LATENCY_BUCKETS)
  readonly #counts: Uint32Array
  readonly #errors: Uint32Array
  readonly #elapsed: Float64Array
  readonly #slotSeconds: number
  /** The closed slots' histograms back to back, allocated once a slot had requests (none for idle targets). */
  #slots: Uint32Array | undefined
  readonly #slotCount: number
  /** The sum of the closed slots. */
  readonly #window = new Uint32Array(LATENCY_BUCKETS)
  #windowCount = 0
  #windowErrors = 0
  #windowElapsed = 0
  #head = 0
  #slotHead = 0
  #secondsInSlot = 0

  constructor (windowSeconds: number) {
    this.#counts = new Uint32Array(windowSeconds)
    this.#errors = new Uint32Array(windowSeconds)
    this.#elapsed = new Float64Array(windowSeconds)
    this.#slotSeconds = Math.max(1, Math.ceil(windowSeconds / SLOTS_PER_WINDOW))
    this.#slotCount = Math.ceil(windowSeconds / this.#slotSeconds)
  }

  /** Closes the current second: it replaces the oldest one in the window (and closes the slot when it is full). */
  roll (elapsedMs: number): void {
    const slot = this.#head
    this.#windowCount += this.count - this.#counts[slot]!
    this.#windowErrors += this.errors - this.#errors[slot]!
    this.#windowElapsed += elapsedMs - this.#elapsed[slot]!
    this.#counts[slot] = this.count
    this.#errors[slot] = this.errors
    this.#elapsed[slot] = elapsedMs
    this.#head = (slot + 1) % this.#counts.length
    this.count = 0
    this.errors = 0
    if (++this.#secondsInSlot === this.#slotSeconds) this.#closeSlot()
  }

  #closeSlot (): void {
    this.#secondsInSlot = 0
    const base = this.#slotHead * LATENCY_BUCKETS
    this.#slotHead = (this.#slotHead + 1) % this.#slotCount
    // while never allocated, every slot so far was empty: the closing one replaces an empty one
    if (this.#slots === undefined) {
      if (!this.histogram.some((n) => n > 0)) return
      this.#slots = new Uint32Array(this.#slotCount * LATENCY_BUCKETS)
    }
    const slots = this.#slots
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      this.#window[i]! += this.histogram[i]! - slots[base + i]!
      slots[base + i] = this.histogram[i]!
    }
    this.histogram.fill(0)
  }

  /** Rates over the last windowSeconds seconds; p99 over the closed slots and the open one (up to a slot more). */
  stats (): TargetTraffic {
    const seconds = this.#windowElapsed / 1000
    const latencies = new Uint32Array(LATENCY_BUCKETS)
    let total = 0
    for (let i = 0; i < LATENCY_BUCKETS; i++) total += latencies[i] = this.#window[i]! + this.histogram[i]!
    return {
      rps: seconds > 0 ? this.#windowCount / seconds : 0,
      errorRate: this.#windowCount > 0 ? this.#windowErrors / this.#windowCount : 0,
      p99: quantile(latencies, total, 0.99),
    }
  }
}

// ---- per-pool ring of points ----
class PoolRing {
  readonly targets = new Map<string, TargetCounters>()
  /** The second being counted, all targets together (the pool's point needs no pass over its targets). */
  readonly histogram = new Uint32Array(LATENCY_BUCKETS)
  count = 0
  errors = 0
  readonly #t: Float64Array
  readonly #rps: Float64Array
  readonly #errors: Float64Array
  /** NaN: no requests that second */
  readonly #p99: Float64Array
  #head = 0
  #size = 0

  constructor (points: number) {
    this.#t = new Float64Array(points)
    this.#rps = new Float64Array(points)
    this.#errors = new Float64Array(points)
    this.#p99 = new Float64Array(points)
  }

  push (t: number, rps: number, errors: number, p99: number | null): void {
    const i = this.#head
    this.#t[i] = t
    this.#rps[i] = rps
    this.#errors[i] = errors
    this.#p99[i] = p99 ?? Number.NaN
    this.#head = (i + 1) % this.#t.length
    if (this.#size < this.#t.length) this.#size++
  }

  series (last: number): PoolSeries {
    const n = Math.min(last, this.#size)
    const out: PoolSeries = { t: [], rps: [], errors: [], p99: [] }
    const capacity = this.#t.length
    for (let k = n; k > 0; k--) {
      const i = (this.#head - k + capacity) % capacity
      out.t.push(this.#t[i]!)
      out.rps.push(this.#rps[i]!)
      out.errors.push(this.#errors[i]!)
      const p99 = this.#p99[i]!
      out.p99.push(Number.isNaN(p99) ? null : p99)
    }
    return out
  }
}

export class TrafficHistory {
  readonly #clock: Clock
  readonly #points: number
  readonly #windowSeconds: number
  readonly #intervalMs: number
  readonly #pools = new Map<string, PoolRing>()
  readonly #listeners = new Set<() => void>()
  /** Monotonic ms of the last sample: the next point's rate is over the time since. */
  #lastSampleAt: number | undefined
  /** Epoch minus monotonic ms at the first sample: a point's t is its monotonic time plus this. */
  #axisOffset: number | undefined
  #timer: Timer | undefined

  constructor (options: TrafficHistoryOptions = {}) {
    this.#clock = options.clock ?? systemClock
    this.#points = options.points ?? 300
    this.#windowSeconds = options.windowSeconds ?? 60
    this.#intervalMs = options.intervalMs ?? 1000
  }

  /** One finished attempt to a target. Hot path: O(1), allocation-free once the target is known. */
  record (pool: string, targetId: string, durationMs: number, ok: boolean): void {
    let ring = this.#pools.get(pool)
    if (ring === undefined) this.#pools.set(pool, ring = new PoolRing(this.#points))
    let target = ring.targets.get(targetId)
    if (target === undefined) ring.targets.set(targetId, target = new TargetCounters(this.#windowSeconds))
    const bucket = latencyBucket(durationMs)
    target.count++
    ring.count++
    if (!ok) {
      target.errors++
      ring.errors++
    }
    target.histogram[bucket]!++
    ring.histogram[bucket]!++
  }

  /** Makes a pool known (so it gets points while idle) without recording anything. */
  track (pool: string, targetIds: readonly string[] = []): void {
    let ring = this.#pools.get(pool)
    if (ring === undefined) this.#pools.set(pool, ring = new PoolRing(this.#points))
    for (const id of targetIds) if (!ring.targets.has(id)) ring.targets.set(id, new TargetCounters(this.#windowSeconds))
  }

  /** Drops a pool (or one of its targets) that the running config no longer has. */
  forget (pool: string, targetId?: string): void {
    if (targetId === undefined) this.#pools.delete(pool)
    else this.#pools.get(pool)?.targets.delete(targetId)
  }

  /**
   * Closes the interval since the last sample: one point per pool, and every target's window moves on.
   * Rates are over monotonic time: over wall-clock intervals, a 1 h step back made one point 1 ms long (a 1000×
   * spike) and a step forward made it an hour (a rate of ~0, every target's minute rolled out at once).
   * The time axis: a point's t is the wall time of the first sample plus the monotonic time since, so points stay
   * ordered and spaced as they were really taken, and a published t never changes (the page appends only points
   * newer than the last it holds: an axis that went back with the clock would freeze its chart). The cost: after a
   * step, labels differ from the wall clock by the step's size until the gateway restarts.
   * `now`, when given, is a timeline of the caller's (a test, a backfill of past seconds): both the points' t and
   * what intervals are measured on.
   */
  sample (now?: number): void {
    const at = now ?? monotonicMs(this.#clock)
    this.#axisOffset ??= (now ?? this.#clock.now()) - at
    const t = Math.round(at + this.#axisOffset)
    const elapsed = this.#lastSampleAt === undefined ? this.#intervalMs : Math.max(1, at - this.#lastSampleAt)
    this.#lastSampleAt = at
    for (const ring of this.#pools.values()) {
      for (const target of ring.targets.values()) target.roll(elapsed)
      ring.push(t, (ring.count * 1000) / elapsed, (ring.errors * 1000) / elapsed, quantile(ring.histogram, ring.count, 0.99))
      ring.count = 0
      ring.errors = 0
      ring.histogram.fill(0)
    }
    for (const listener of this.#listeners) listener()
  }

  /** Called after every sample (the dashboard marks its live stream dirty). Returns the unsubscribe function. */
  onSample (listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** A pool's last `last` points (all by default), oldest first; undefined for a pool never seen. */
  series (pool: string, last = this.#points): PoolSeries | undefined {
    return this.#pools.get(pool)?.series(last)
  }

  target (pool: string, targetId: string): TargetTraffic | undefined {
    return this.#pools.get(pool)?.targets.get(targetId)?.stats()
  }

  /** Every pool's last `points` points and every target's last minute. */
  summary (points = this.#points): TrafficSummary {
    const out: TrafficSummary = { pools: {}, targets: {} }
    for (const [name, ring] of this.#pools) {
      out.pools[name] = ring.series(points)
      const targets: Record<string, TargetTraffic> = {}
      for (const [id, counters] of ring.targets) targets[id] = counters.stats()
      out.targets[name] = targets
    }
    return out
  }

  /** Samples every intervalMs on the clock until stop(); the timer never keeps the process alive. */
  start (): void {
    if (this.#timer !== undefined) return
    const timer = this.#clock.setTimeout(() => {
      this.sample()
      timer.refresh()
    }, this.#intervalMs)
    timer.unref()
    this.#timer = timer
  }

  stop (): void {
    this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
