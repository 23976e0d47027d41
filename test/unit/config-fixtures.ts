// Builds resolved pool configs through validateConfig, so tests use exactly what the gateway would run with.
import { validateConfig } from '../../src/config/validate.ts'
import type { PoolConfig } from '../../src/config/schema.ts'
import type { Balancer } from '../../src/balancer/types.ts'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import { UpstreamPool, type Tier } from '../../src/upstream/pool.ts'
import { Target } from '../../src/upstream/target.ts'
import type { TargetStatus } from '../../src/upstream/status.ts'
import { ManualClock } from '../helpers/clock.ts'

export function poolConfig (pool: Record<string, unknown> = {}): PoolConfig {
  const config = validateConfig({
    pools: { p: { targets: ['http://127.0.0.1:1'], ...pool } },
    routes: [{ path: '/', pool: 'p' }],
  })
  return config.pools.p!
}

export interface PoolFixture {
  pool: UpstreamPool
  /** Targets by the names given to buildPool. */
  byName: Record<string, Target>
  tiers: [Tier, Tier][]
  statuses: [string, TargetStatus, TargetStatus][]
  clock: ManualClock
}

/**
 * A pool of Targets (nothing is ever sent to them) from named targets: names starting with 'b' are backups.
 * Every target points at 127.0.0.1 on its own unused port; call pool.close() in teardown.
 */
export function buildPool (names: readonly string[], pool: Record<string, unknown> = {}, balancer: Balancer = new RoundRobinBalancer()): PoolFixture {
  const ports = new Map(names.map((n, i) => [n, 1 + i]))
  const config = poolConfig({
    targets: names.map((n) => ({ url: `http://127.0.0.1:${ports.get(n)}`, backup: n.startsWith('b') })),
    ...pool,
  })
  const clock = new ManualClock(1_000_000)
  const targets = config.targets.map((tc) => new Target(tc, config))
  const byName: Record<string, Target> = {}
  names.forEach((n, i) => { byName[n] = targets[i]! })
  const nameOf = new Map(targets.map((tg, i) => [tg, names[i]!]))
  const up = new UpstreamPool('p', config, targets, balancer, clock)
  const tiers: [Tier, Tier][] = []
  const statuses: [string, TargetStatus, TargetStatus][] = []
  up.on('tier', (tier, previous) => tiers.push([tier, previous]))
  up.on('status', (target, status, previous) => statuses.push([nameOf.get(target)!, status, previous]))
  return { pool: up, byName, tiers, statuses, clock }
}
