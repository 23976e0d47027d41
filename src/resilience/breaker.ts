// One opossum circuit breaker per pool. Only what the upstream did wrong opens it:
// an attempt counts as a failure by throwing UpstreamFailure; anything else (4xx, client aborts) does not.
import { EventEmitter } from 'node:events'
import CircuitBreaker from 'opossum'
import type { CircuitBreakerConfig } from '../config/schema.ts'
import { systemClock, type Clock } from '../runtime.ts'

export type BreakerState = 'closed' | 'open' | 'half-open'

/** Thrown inside a breaker run for an attempt the upstream failed; carries the attempt's result out. */
export class UpstreamFailure<T> extends Error {
  readonly result: T
  constructor (result: T) {
    super('upstream failure')
    this.result = result
  }
}

export interface BreakerEvents { state: [state: BreakerState, previous: BreakerState] }

type Action = (arg: unknown) => Promise<unknown>

export class PoolBreaker extends EventEmitter<BreakerEvents> {
  readonly #breaker: CircuitBreaker<[Action, unknown], unknown> | undefined
  readonly #resetTimeoutMs: number
  readonly #clock: Clock
  #state: BreakerState = 'closed'
  #openedAt = 0

  constructor (config: CircuitBreakerConfig, clock: Clock = systemClock) {
    super()
    this.#resetTimeoutMs = config.resetTimeoutMs
    this.#clock = clock
    if (!config.enabled) return
    this.#breaker = new CircuitBreaker((action: Action, arg: unknown) => action(arg), {
      timeout: false, // the proxy owns timeouts; a breaker timer would not abort the upstream request
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      rollingCountTimeout: config.rollingWindowMs,
      resetTimeout: config.resetTimeoutMs,
      errorFilter: (err: unknown) => !(err instanceof UpstreamFailure),
      // Off: with them on, every request's latency is pushed into the rolling window, and every second (the
      // snapshot) and on every failure opossum concatenates and sorts the whole window's latencies, ~100,000
      // numbers at 10k req/s: a stall of milliseconds each second. Nothing here reads its percentiles.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    })
    this.#breaker.on('open', () => { this.#openedAt = this.#clock.now(); this.#set('open') })
    this.#breaker.on('halfOpen', () => this.#set('half-open'))
    this.#breaker.on('close', () => this.#set('closed'))
  }

  get state (): BreakerState { return this.#state }

  /** While open: whole seconds until the breaker lets a probe through (1 while half-open). Undefined when closed. */
  retryAfterSeconds (): number | undefined {
    if (this.#state === 'half-open') return 1 // a probe is deciding right now
    if (this.#state !== 'open') return undefined
    return Math.max(1, Math.ceil((this.#openedAt + this.#resetTimeoutMs - this.#clock.now()) / 1000))
  }

  /** True when a request may be tried now (closed, or half-open with the probe slot free). */
  allows (): boolean {
    const b = this.#breaker
    return b === undefined || b.closed || b.pendingClose
  }

  /**
   * Runs `action(arg)` through the breaker (a module-level action and its argument: no closure per call). Resolves
   * with its result; rejects with the UpstreamFailure the action rejected with (counted against the pool), with
   * code EOPENBREAKER when open, or with any other error the action throws. It hands back opossum's own promise, with
   * none chained on: this runs for every request, and each promise more is an allocation and a microtask.
   */
  run<T, A = undefined> (action: (arg: A) => Promise<T>, arg?: A): Promise<T> {
    const breaker = this.#breaker
    try {
      // call(), not fire(): fire() only spreads its arguments into call() again, one array more per request
      return breaker === undefined ? action(arg as A) : breaker.call(undefined, action as Action, arg) as Promise<T>
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Operator: open or close the breaker by hand. */
  force (state: 'open' | 'closed'): void {
    if (state === 'open') this.#breaker?.open()
    else this.#breaker?.close()
  }

  shutdown (): void { this.#breaker?.shutdown() }

  #set (state: BreakerState): void {
    const previous = this.#state
    if (previous === state) return
    this.#state = state
    this.emit('state', state, previous)
  }
}

export function isBreakerRejection (err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EOPENBREAKER'
}
