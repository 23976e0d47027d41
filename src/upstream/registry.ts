// Builds every pool's runtime from the config: its targets, balancer, health checks, outlier detector,
// breaker, retry policy and budget. Nothing here is shared between pools.
import { createBalancer, type RandomSource } from '../balancer/index.ts'
import type { PoolConfig, ResolvedConfig } from '../config/schema.ts'
import { ActiveHealthChecker } from '../health/active.ts'
import { OutlierDetector } from '../health/outlier.ts'
import { PoolBreaker } from '../resilience/breaker.ts'
import { RetryBudget } from '../resilience/budget.ts'
import { RetryDecider } from '../resilience/retry.ts'
import { UpstreamPool } from './pool.ts'
import { Target } from './target.ts'

export interface RuntimeOptions {
  random?: RandomSource
  now?: () => number
}

export class PoolRuntime {
  readonly name: string
  readonly config: PoolConfig
  readonly pool: UpstreamPool
  readonly breaker: PoolBreaker
  readonly retry: RetryDecider
  readonly budget: RetryBudget
  readonly outlier: OutlierDetector
  readonly health: ActiveHealthChecker | undefined
  readonly #failureStatuses: ReadonlySet<number>

  constructor (name: string, config: PoolConfig, options: RuntimeOptions = {}) {
    const random = options.random ?? Math.random
    const now = options.now ?? Date.now
    this.name = name
    this.config = config
    const targets = config.targets.map((t) => new Target(t, config))
    this.pool = new UpstreamPool(name, config, targets, createBalancer(config.balancer, random), now)
    this.breaker = new PoolBreaker(config.circuitBreaker, now)
    this.retry = new RetryDecider(config.retry, random)
    this.budget = new RetryBudget(config.retry.budget)
    this.outlier = new OutlierDetector(config.outlier, this.pool, now)
    this.health = config.healthCheck ? new ActiveHealthChecker(this.pool, config.healthCheck, random) : undefined
    this.#failureStatuses = new Set(config.failureStatuses)
  }

  isFailureStatus (status: number): boolean {
    return this.#failureStatuses.has(status)
  }

  start (): void {
    this.health?.start()
  }

  async close (): Promise<void> {
    this.health?.stop()
    this.breaker.shutdown()
    await this.pool.close()
  }
}

export function buildPools (config: ResolvedConfig, options: RuntimeOptions = {}): Map<string, PoolRuntime> {
  const pools = new Map<string, PoolRuntime>()
  for (const [name, poolConfig] of Object.entries(config.pools)) pools.set(name, new PoolRuntime(name, poolConfig, options))
  return pools
}
