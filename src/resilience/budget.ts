// Retry budget, as Envoy's: retries in flight may not exceed max(percent% of active requests, minConcurrent),
// so a pool-wide failure cannot multiply the load on it. It counts the pool's requests in flight, so it holds their
// bound too (connections.maxRequests, Envoy's max_requests per cluster).
export class RetryBudget {
  readonly #percent: number
  readonly #minConcurrent: number
  readonly #maxRequests: number
  #active = 0
  #retriesInFlight = 0
  #rejected = 0
  readonly #onIdle: (() => void)[] = []
  readonly #onRejected: () => void

  /** `maxRequests`: the most requests of the pool in flight at once (unset: no bound). */
  constructor (budget: { percent: number; minConcurrent: number; maxRequests?: number }, onRejected: () => void = () => {}) {
    this.#percent = budget.percent
    this.#minConcurrent = budget.minConcurrent
    this.#maxRequests = budget.maxRequests ?? Infinity
    this.#onRejected = onRejected
  }

  /** Requests of this pool in flight. */
  get active (): number { return this.#active }
  get retriesInFlight (): number { return this.#retriesInFlight }
  /** Retries refused since start. */
  get rejected (): number { return this.#rejected }

  /**
   * Counts a request of this pool in flight, if fewer than maxRequests are: false (not counted) when the pool is
   * full, and the request is refused (503 pool_busy). Each true is matched by one requestFinished().
   */
  tryStartRequest (): boolean {
    if (this.#active >= this.#maxRequests) return false
    this.#active++
    return true
  }

  requestFinished (): void {
    if (--this.#active === 0 && this.#onIdle.length > 0) for (const resolve of this.#onIdle.splice(0)) resolve()
  }

  /** Resolves once no request of this pool is in flight. */
  whenIdle (): Promise<void> {
    if (this.#active === 0) return Promise.resolve()
    return new Promise((resolve) => this.#onIdle.push(resolve))
  }

  /** Whether a retry would be allowed now (without taking a slot). */
  wouldAllow (): boolean {
    return this.#retriesInFlight + 1 <= Math.max((this.#active * this.#percent) / 100, this.#minConcurrent)
  }

  /** Takes a retry slot if the budget allows; the caller must release() it when that attempt ends. */
  tryAcquire (): boolean {
    if (!this.wouldAllow()) {
      this.#rejected++
      this.#onRejected()
      return false
    }
    this.#retriesInFlight++
    return true
  }

  release (): void { this.#retriesInFlight-- }
}
