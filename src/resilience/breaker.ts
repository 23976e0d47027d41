// One opossum circuit breaker per pool. It judges whole requests (all their attempts together), and only what the
// upstream did wrong counts against it: a request answered counts as a success, one the upstream failed as a
// failure, and one with no verdict (its client left, no target to try) not at all.
// A request is admitted when it starts and judged when its verdict is known; only the verdict goes through opossum,
// which keeps the state, the rolling window and the reset timer. Half-open, one request at a time is admitted as
// the probe, by this class: admission and verdict being apart, opossum's own one-call gate cannot tell the probe
// from a request that started while the breaker was closed and ends while it is half-open. A probe that holds its
// slot too long (its lease) lets the next request probe too, and the first verdict of any of them decides.
import { EventEmitter } from 'node:events'
import CircuitBreaker from 'opossum'
import type { CircuitBreakerConfig } from '../config/schema.ts'
import { monotonicMs, systemClock, type Clock, type Timer } from '../runtime.ts'

export type BreakerState = 'closed' | 'open' | 'half-open'

/** What a judged request tells the breaker; undefined: nothing (no answer, and not the upstream's fault). */
export type Verdict = 'success' | 'failure' | undefined

/** An admitted request: NOT_A_PROBE, or the ticket of the half-open probe (a number above 0). */
export type Admission = number
export const NOT_A_PROBE: Admission = 0

export interface BreakerEvents { state: [state: BreakerState, previous: BreakerState] }

/** Buckets of opossum's rolling window (its default, set here so #forgetCounts empties every one). */
const ROLLING_BUCKETS = 10

/** How long a half-open probe holds its slot when no option says (a request with no verdict by then gives it up). */
const DEFAULT_PROBE_LEASE_MS = 2000

// opossum's action: the verdict, as a settled promise
const SUCCEEDED = Promise.resolve()
const UPSTREAM_FAILED = new Error('upstream failure')
const settle = (verdict: Promise<void>): Promise<void> => verdict
const ignore = (): void => {}

export class PoolBreaker extends EventEmitter<BreakerEvents> {
  readonly #breaker: CircuitBreaker<[Promise<void>], void> | undefined
  readonly #resetTimeoutMs: number
  readonly #clock: Clock
  readonly #probeLeaseMs: number
  #state: BreakerState = 'closed'
  #openedAt = 0
  /** The half-open probe in flight: its ticket (0: none), and the timer that ends its hold on the slot. */
  #probe: Admission = NOT_A_PROBE
  #probeLease: Timer | undefined
  #tickets = 0
  /** The first ticket of the current half-open period: tickets from it on are its probes, leased out or not. */
  #firstProbeOfPeriod = 1

  /** `probeLeaseMs`: the longest a half-open probe holds its slot without a verdict (the pool's per-try timeout). */
  constructor (config: CircuitBreakerConfig, clock: Clock = systemClock, probeLeaseMs = DEFAULT_PROBE_LEASE_MS) {
    super()
    this.#resetTimeoutMs = config.resetTimeoutMs
    this.#clock = clock
    this.#probeLeaseMs = probeLeaseMs
    if (!config.enabled) return
    this.#breaker = new CircuitBreaker(settle, {
      timeout: false, // the proxy owns timeouts; a breaker timer would not abort the upstream request
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      rollingCountTimeout: config.rollingWindowMs,
      rollingCountBuckets: ROLLING_BUCKETS,
      resetTimeout: config.resetTimeoutMs,
      // Off: with them on, every request's latency is pushed into the rolling window, and every second (the
      // snapshot) and on every failure opossum concatenates and sorts the whole window's latencies, ~100,000
      // numbers at 10k req/s: a stall of milliseconds each second. Nothing here reads its percentiles.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    })
    this.#breaker.on('open', () => { this.#openedAt = monotonicMs(this.#clock); this.#set('open') })
    this.#breaker.on('halfOpen', () => this.#set('half-open'))
    this.#breaker.on('close', () => { this.#forgetCounts(); this.#set('closed') })
  }

  get state (): BreakerState { return this.#state }

  /** While open: whole seconds until the breaker lets a probe through (1 while half-open). Undefined when closed. */
  retryAfterSeconds (): number | undefined {
    if (this.#state === 'half-open') return 1 // a probe is deciding right now
    if (this.#state !== 'open') return undefined
    // opossum's reset is a timer, which a wall-clock step does not move: neither may this
    return Math.max(1, Math.ceil((this.#openedAt + this.#resetTimeoutMs - monotonicMs(this.#clock)) / 1000))
  }

  /** True when a request would be admitted now (closed, or half-open with the probe slot free); takes nothing. */
  allows (): boolean {
    const b = this.#breaker
    return b === undefined || b.closed || (b.halfOpen && this.#probe === NOT_A_PROBE)
  }

  /**
   * Admits a request, or refuses it (undefined: open, or half-open with its probe in flight). Half-open, the request
   * admitted is the probe: it holds the slot until it is judged, or for probeLeaseMs at most (a slow upload, an
   * answer that never starts), after which the next request may probe.
   */
  admit (): Admission | undefined {
    const b = this.#breaker
    if (b === undefined || b.closed) return NOT_A_PROBE
    if (!b.halfOpen || this.#probe !== NOT_A_PROBE) return undefined
    const ticket = this.#probe = ++this.#tickets
    this.#probeLease = this.#clock.setTimeout(() => this.#endProbe(ticket), this.#probeLeaseMs)
    this.#probeLease.unref()
    return ticket
  }

  /**
   * An admitted request's verdict, once: while closed, a failure counts toward opening it; half-open, the first
   * verdict of one of this period's probes decides (a success closes it, a failure reopens it), the one in flight or
   * one whose lease ran out: against an upstream that hangs, each probe's lease ends before its failure is known,
   * and if only the probe in flight counted, the breaker would stay half-open for as long as it hangs, letting a
   * request through to it at every lease. A verdict of a request admitted while closed, or of a probe of an earlier
   * period, is not counted while half-open or open. No verdict counts nothing, and frees the probe slot.
   */
  judge (verdict: Verdict, admission: Admission): void {
    const probing = admission >= this.#firstProbeOfPeriod && this.#state === 'half-open'
    if (admission !== NOT_A_PROBE) this.#endProbe(admission)
    const b = this.#breaker
    if (verdict === undefined || b === undefined || b.isShutdown) return
    if (!b.closed && !(probing && b.pendingClose)) return
    if (verdict === 'success') void b.call(undefined, SUCCEEDED)
    else b.call(undefined, Promise.reject(UPSTREAM_FAILED)).catch(ignore)
  }

  /** Operator: open or close the breaker by hand. */
  force (state: 'open' | 'closed'): void {
    if (state === 'open') return this.#breaker?.open()
    // closing one already closed still clears its counts: the operator says the pool is fine now
    if (this.#breaker?.closed === true) this.#forgetCounts()
    else this.#breaker?.close()
  }

  shutdown (): void {
    this.#endProbe(this.#probe)
    this.#breaker?.shutdown()
  }

  /**
   * A breaker that closes starts from empty counts, as Hystrix's and resilience4j's do: opossum's close() keeps its
   * rolling window, so the failures that opened it would still be there, and with resetTimeoutMs shorter than
   * rollingWindowMs the first failure after a recovery would reopen it. opossum has no reset for the window; its
   * Status rotates a fresh bucket in with rotateBucket() (what its own timer calls), and ROLLING_BUCKETS of them
   * replace the whole window.
   */
  #forgetCounts (): void {
    const status = this.#breaker?.status as { rotateBucket?: () => void } | undefined
    for (let i = 0; i < ROLLING_BUCKETS; i++) status?.rotateBucket?.()
  }

  #endProbe (ticket: Admission): void {
    if (ticket === NOT_A_PROBE || ticket !== this.#probe) return
    this.#probe = NOT_A_PROBE
    this.#clock.clearTimeout(this.#probeLease)
    this.#probeLease = undefined
  }

  #set (state: BreakerState): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    // a new state starts without a probe: half-open admits a fresh one, closed and open none
    this.#endProbe(this.#probe)
    if (state === 'half-open') this.#firstProbeOfPeriod = this.#tickets + 1
    this.emit('state', state, previous)
  }
}
