// Canary release decisions: which version a request goes to, and automatic rollback when the canary fails.
// Works on facts the caller already extracted (the sticky key, the force header's value), so it stays pure:
// an injected clock and random source make every decision reproducible in tests.
import { SlidingWindowCounter } from './sliding-window.ts'
import { STICKY_BUCKETS, stickyBucket } from './sticky-hash.ts'

export type CanaryVersion = 'canary' | 'stable'
export type WeightSource = 'file' | 'operator' | 'rollback'

export interface CanaryConfig {
  pool: string
  /** Percent of requests (0-100, in steps of 0.01) sent to the canary pool. */
  weight: number
  /** Where the caller takes the sticky key from; 'none' means every request is drawn at random. */
  stickyBy: `header:${string}` | `cookie:${string}` | 'ip' | 'none'
  /** Values of this header that send a request to the canary whatever the weight; 'never' keeps it off. */
  force?: { header: string; values: readonly string[] }
  /** Set weight to 0 once the canary served ≥ minRequests in windowMs with more than maxErrorRatePercent errors. */
  rollback: { maxErrorRatePercent: number; minRequests: number; windowMs: number }
}

export interface CanaryDeciderOptions {
  /** Epoch milliseconds: the time a rollback event reports. */
  now?: () => number
  /** Milliseconds on a clock that never steps, for the error window (when missing, now is taken to be one). */
  monotonicNow?: (() => number) | undefined
  /** Uniform in [0, 1), like Math.random; drawn only for requests without a sticky key. */
  random?: () => number
  /** Passed to stickyBucket: canaries with different salts choose different keys. */
  salt?: string
}

export interface RollbackEvent {
  at: number
  /** The weight the canary had before it was rolled back. */
  previousWeight: number
  requests: number
  errors: number
  errorRatePercent: number
}

export interface VersionStats { requests: number; errors: number }

const FORCE_STABLE = 'never'

export class CanaryDecider {
  readonly #stickyByKey: boolean
  readonly #forceCanary: ReadonlySet<string>
  readonly #rollback: CanaryConfig['rollback']
  readonly #now: () => number
  readonly #random: () => number
  readonly #salt: string
  readonly #window: Record<CanaryVersion, { requests: SlidingWindowCounter; errors: SlidingWindowCounter }>
  #weight = 0
  /** Buckets below this go to the canary: weight in hundredths of a percent, rounded once here. */
  #threshold = 0
  #weightSource: WeightSource = 'file'
  /** Counts the times the weight left 0: a canary decision made before the last of them went to the build taken off. */
  #epoch = 0

  constructor (config: CanaryConfig, options: CanaryDeciderOptions = {}) {
    const { maxErrorRatePercent, minRequests } = config.rollback
    if (!(maxErrorRatePercent >= 0 && maxErrorRatePercent <= 100)) throw new RangeError(`rollback.maxErrorRatePercent must be 0-100, got ${maxErrorRatePercent}`)
    if (!(Number.isInteger(minRequests) && minRequests >= 0)) throw new RangeError(`rollback.minRequests must be a whole number ≥ 0, got ${minRequests}`)
    this.#stickyByKey = config.stickyBy !== 'none'
    this.#forceCanary = new Set((config.force?.values ?? []).map(normaliseForce))
    this.#rollback = config.rollback
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
    this.#salt = options.salt ?? ''
    // a wall clock stepped back would stop the window forgetting until it caught up (sliding-window.ts)
    const windowNow = options.monotonicNow ?? this.#now
    const counter = (): SlidingWindowCounter => new SlidingWindowCounter({ windowMs: config.rollback.windowMs, now: windowNow })
    this.#window = {
      canary: { requests: counter(), errors: counter() },
      stable: { requests: counter(), errors: counter() },
    }
    this.setWeight(config.weight, 'file')
  }

  get weight (): number { return this.#weight }
  get weightSource (): WeightSource { return this.#weightSource }
  /** The build the canary is now: read with each decision, given back to record(). */
  get epoch (): number { return this.#epoch }

  /**
   * 'file' and 'operator' restore a rolled-back canary. A canary raised from weight 0 starts with an empty
   * window, so errors of the build that was taken off cannot roll back its replacement at once.
   * 'rollback' only records state (e.g. carried over to a decider rebuilt on reload); it emits nothing.
   */
  setWeight (weight: number, source: WeightSource): void {
    if (!(weight >= 0 && weight <= 100)) throw new RangeError(`canary weight must be 0-100, got ${weight}`)
    if (this.#weight === 0 && weight > 0) {
      this.#window.canary.requests.clear()
      this.#window.canary.errors.clear()
      this.#epoch++
    }
    this.#weight = weight
    this.#threshold = Math.round(weight * (STICKY_BUCKETS / 100))
    this.#weightSource = source
  }

  /**
   * `key`: the sticky key (undefined or '' when the request has none); `force`: the force header's value.
   * Sticky keys map to a fixed bucket, canary iff bucket < weight×100: raising the weight only ever moves
   * keys from stable to canary, and every replica decides the same.
   */
  decide (request: { key?: string | undefined; force?: string | undefined }): CanaryVersion {
    if (request.force !== undefined) {
      const force = normaliseForce(request.force)
      // not into a canary rolled back for its errors, as Flagger and Argo Rollouts drop header routes when they abort:
      // the header is the client's to send; forcing works again once an operator or a reload sets a weight
      if (this.#forceCanary.has(force) && this.#weightSource !== 'rollback') return 'canary'
      if (force === FORCE_STABLE) return 'stable'
    }
    if (this.#weight <= 0) return 'stable'
    if (this.#weight >= 100) return 'canary'
    const bucket = this.#stickyByKey && request.key !== undefined && request.key !== ''
      ? stickyBucket(request.key, this.#salt)
      : Math.floor(this.#random() * STICKY_BUCKETS)
    return bucket < this.#threshold ? 'canary' : 'stable'
  }

  /**
   * One finished request: ok = false for a 5xx answer or a failure to reach the pool; `epoch` the canary's when the
   * request's version was decided. Returns the rollback event on the one call that triggers it.
   */
  record (version: CanaryVersion, ok: boolean, epoch = this.#epoch): RollbackEvent | undefined {
    // one sent to the canary before it was raised from 0 went to the build that was taken off (slow failures of
    // old pods finishing late): its answer is not the replacement's, whose window starts empty
    if (version === 'canary' && epoch !== this.#epoch) return undefined
    const w = this.#window[version]
    w.requests.add()
    if (!ok) w.errors.add()
    if (version !== 'canary' || this.#weight === 0) return undefined
    return this.#maybeRollBack()
  }

  /** Requests and errors per version over the last windowMs. */
  stats (): Record<CanaryVersion, VersionStats> {
    return {
      canary: { requests: this.#window.canary.requests.count(), errors: this.#window.canary.errors.count() },
      stable: { requests: this.#window.stable.requests.count(), errors: this.#window.stable.errors.count() },
    }
  }

  #maybeRollBack (): RollbackEvent | undefined {
    const requests = this.#window.canary.requests.count()
    if (requests === 0 || requests < this.#rollback.minRequests) return undefined
    const errors = this.#window.canary.errors.count()
    // integer comparison: errors/requests > max% without rounding at the boundary
    if (!(errors * 100 > this.#rollback.maxErrorRatePercent * requests)) return undefined
    const previousWeight = this.#weight
    this.#weight = 0
    this.#threshold = 0
    this.#weightSource = 'rollback'
    return { at: this.#now(), previousWeight, requests, errors, errorRatePercent: (errors * 100) / requests }
  }
}

/** Header values compare case-insensitively, ignoring surrounding blanks. */
function normaliseForce (value: string): string {
  return value.trim().toLowerCase()
}
