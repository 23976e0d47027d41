// Builds every pool's runtime from the config: its targets, balancer, health checks, outlier detector,
// breaker, retry policy and budget. Nothing here is shared between pools.
import { createBalancer, type RandomSource } from '../balancer/index.ts'
import type { PoolConfig, ResolvedConfig } from '../config/schema.ts'
import { ActiveHealthChecker } from '../health/active.ts'
import { OutlierDetector } from '../health/outlier.ts'
import { PoolBreaker } from '../resilience/breaker.ts'
import { RetryBudget } from '../resilience/budget.ts'
import { RetryDecider } from '../resilience/retry.ts'
import { keyExtractor, type KeyExtractor } from '../proxy/hash-key.ts'
import { UpstreamPool } from './pool.ts'
import { Target, type TargetStatus } from './target.ts'

export interface RuntimeOptions {
  random?: RandomSource
  now?: () => number
  /** Status by target URL to start from (a target that survives a reload keeps its health, ejection, drain). */
  statusOf?: (url: string) => TargetStatus | undefined
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
  /** The request's affinity key for hash balancing (undefined for other balancers). */
  readonly hashKey: KeyExtractor | undefined
  readonly #failureStatuses: ReadonlySet<number>

  constructor (name: string, config: PoolConfig, options: RuntimeOptions = {}) {
    const random = options.random ?? Math.random
    const now = options.now ?? Date.now
    this.name = name
    this.config = config
    const targets = config.targets.map((t) => new Target(t, config, options.statusOf?.(new URL(t.url).origin)))
    this.pool = new UpstreamPool(name, config, targets, createBalancer(config.balancer, random), now)
    this.breaker = new PoolBreaker(config.circuitBreaker, now)
    this.retry = new RetryDecider(config.retry, random)
    this.budget = new RetryBudget(config.retry.budget)
    this.outlier = new OutlierDetector(config.outlier, this.pool, now)
    this.health = config.healthCheck ? new ActiveHealthChecker(this.pool, config.healthCheck, random) : undefined
    this.#failureStatuses = new Set(config.failureStatuses)
    this.hashKey = keyExtractor(config.balancer)
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

/**
 * Builds every pool. With `previous` (the pools a reload replaces), a target keeps its status when its pool
 * and URL are unchanged: target state is keyed by pool name + target URL.
 */
export function buildPools (config: ResolvedConfig, options: RuntimeOptions = {}, previous?: ReadonlyMap<string, PoolRuntime>): Map<string, PoolRuntime> {
  const pools = new Map<string, PoolRuntime>()
  for (const [name, poolConfig] of Object.entries(config.pools)) {
    const before = previous?.get(name)?.pool.targets
    const statusOf = before === undefined ? undefined : (url: string) => before.find((t) => t.url === url)?.status
    pools.set(name, new PoolRuntime(name, poolConfig, { ...options, ...(statusOf ? { statusOf } : {}) }))
  }
  return pools
}
