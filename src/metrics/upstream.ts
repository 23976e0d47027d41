// Per-pool and per-target series, bound once per pool and per target.
import type { Counter } from 'prom-client'
import { CounterChildren } from './children.ts'
import type { AttemptOutcome, RetryReason } from './catalogue.ts'
import type { Instruments } from './instruments.ts'

export interface PoolMetrics {
  readonly pool: string
  retry (reason: RetryReason): void
  /** A retry the policy allowed and the retry budget refused. */
  budgetExhausted (): void
}

export interface TargetMetrics {
  readonly pool: string
  readonly target: string
  attempt (outcome: AttemptOutcome): void
}

export class PoolBinding implements PoolMetrics {
  readonly pool: string
  readonly #retries: CounterChildren<RetryReason>
  readonly #exhaustedOf: Counter
  readonly #exhausted: Counter.Internal
  #retired = false

  constructor (instruments: Instruments, pool: string) {
    this.pool = pool
    this.#retries = new CounterChildren(instruments.retries, [pool])
    this.#exhaustedOf = instruments.retryBudgetExhausted
    this.#exhausted = instruments.retryBudgetExhausted.labels(pool)
    // present from the start at 0, so an alert on its increase fires on the first refusal
    this.#exhausted.inc(0)
  }

  retry (reason: RetryReason): void { if (!this.#retired) this.#retries.inc(reason) }
  budgetExhausted (): void { if (!this.#retired) this.#exhausted.inc() }

  retire (): void {
    this.#retired = true
    this.#retries.remove()
    this.#exhaustedOf.remove(this.pool)
  }
}

export class TargetBinding implements TargetMetrics {
  readonly pool: string
  readonly target: string
  readonly #attempts: CounterChildren<AttemptOutcome>
  #retired = false

  constructor (instruments: Instruments, pool: string, target: string) {
    this.pool = pool
    this.target = target
    this.#attempts = new CounterChildren(instruments.upstreamAttempts, [pool, target])
  }

  attempt (outcome: AttemptOutcome): void { if (!this.#retired) this.#attempts.inc(outcome) }

  retire (): void {
    this.#retired = true
    this.#attempts.remove()
  }
}
