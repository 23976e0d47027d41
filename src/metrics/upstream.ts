// Per-pool and per-target series, bound once per pool and per target.
import { CounterChildren } from './children.ts'
import type { AttemptOutcome, RetryReason } from './catalogue.ts'
import type { CounterFamily, CounterSeries } from './counter.ts'
import type { Families } from './families.ts'

export interface PoolMetrics {
  readonly pool: string
  retry (reason: RetryReason): void
  /** A retry the policy allowed and the retry budget refused. */
  budgetExhausted (): void
  /** An outlier ejection maxEjectionPercent refused. */
  ejectionSkipped (): void
}

export interface TargetMetrics {
  readonly pool: string
  readonly target: string
  attempt (outcome: AttemptOutcome): void
}

export class PoolBinding implements PoolMetrics {
  readonly pool: string
  readonly #retries: CounterChildren<RetryReason>
  readonly #exhaustedFamily: CounterFamily
  // bound at once, so the series is exported at 0 and an alert on its increase fires on the first refusal
  readonly #exhausted: CounterSeries
  readonly #skippedFamily: CounterFamily
  // bound at once too, for the same reason
  readonly #skipped: CounterSeries

  constructor (families: Families, pool: string) {
    this.pool = pool
    this.#retries = new CounterChildren(families.retries, [pool])
    this.#exhaustedFamily = families.retryBudgetExhausted
    this.#exhausted = families.retryBudgetExhausted.series([pool])
    this.#skippedFamily = families.outlierEjectionsSkipped
    this.#skipped = families.outlierEjectionsSkipped.series([pool])
  }

  retry (reason: RetryReason): void { this.#retries.inc(reason) }
  budgetExhausted (): void { this.#exhausted.inc() }
  ejectionSkipped (): void { this.#skipped.inc() }

  /** Removes the pool's series; later calls count nowhere. */
  detach (): void {
    this.#retries.detach()
    this.#exhaustedFamily.remove([this.pool])
    this.#skippedFamily.remove([this.pool])
  }
}

export class TargetBinding implements TargetMetrics {
  readonly pool: string
  readonly target: string
  readonly #attempts: CounterChildren<AttemptOutcome>

  constructor (families: Families, pool: string, target: string) {
    this.pool = pool
    this.target = target
    this.#attempts = new CounterChildren(families.upstreamAttempts, [pool, target])
  }

  attempt (outcome: AttemptOutcome): void { this.#attempts.inc(outcome) }

  detach (): void { this.#attempts.detach() }
}
