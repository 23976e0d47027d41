// Builds every pool's runtime from the config: its targets, balancer, health checks, outlier detector,
// breaker, retry policy and budget. Nothing here is shared between pools.
import { createBalancer } from '../balancer/index.ts'
import { parseHashKey, type HashKeySpec } from '../balancer/hash.ts'
import type { PoolConfig, ResolvedConfig } from '../config/schema.ts'
import { ActiveHealthChecker } from '../health/active.ts'
import { OutlierDetector } from '../health/outlier.ts'
import { PoolBreaker } from '../resilience/breaker.ts'
import { RetryBudget } from '../resilience/budget.ts'
import { RetryDecider } from '../resilience/retry.ts'
import { systemClock, type Clock, type RandomSource } from '../runtime.ts'
import { UpstreamPool } from './pool.ts'
import type { TargetStatus } from './status.ts'
import { Target } from './target.ts'

export interface RuntimeOptions {
  random?: RandomSource
  clock?: Clock
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
  /** The gateway's clock: deadlines, backoff and timers of this pool's requests read it. */
  readonly clock: Clock
  /** Where the request's affinity key comes from, for hash balancing (undefined for other balancers). */
  readonly hashKey: HashKeySpec | undefined
  readonly #failureStatuses: ReadonlySet<number>

  constructor (name: string, config: PoolConfig, options: RuntimeOptions = {}) {
    const random = options.random ?? Math.random
    const clock = options.clock ?? systemClock
    this.name = name
    this.config = config
    this.clock = clock
    const targets = config.targets.map((t) => new Target(t, config))
    const statusOf = options.statusOf
    this.pool = new UpstreamPool(name, config, targets, createBalancer(config.balancer, random), clock, statusOf && ((t) => statusOf(t.url)))
    this.breaker = new PoolBreaker(config.circuitBreaker, clock)
    this.retry = new RetryDecider(config.retry, random)
    this.budget = new RetryBudget(config.retry.budget)
    this.outlier = new OutlierDetector(config.outlier, this.pool, clock)
    this.health = config.healthCheck ? new ActiveHealthChecker(this.pool, config.healthCheck, { random, clock }) : undefined
    this.#failureStatuses = new Set(config.failureStatuses)
    this.hashKey = typeof config.balancer === 'object' ? parseHashKey(config.balancer.key) : undefined
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
    const before = previous?.get(name)?.pool
    const statusOf = before === undefined ? undefined : (url: string) => {
      const target = before.targets.find((t) => t.url === url)
      return target && before.status(target)
    }
    pools.set(name, new PoolRuntime(name, poolConfig, { ...options, ...(statusOf ? { statusOf } : {}) }))
  }
  return pools
}
