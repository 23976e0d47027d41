// The operator's model of the gateway: the config it should run (built from the file the test writes), each
// target's operator state (drained, disabled), each pool's switchover and the canary weight. Actions move it
// (actions.ts: transition()); agreement.ts lists every way the running gateway disagrees with it.
import type { GatewayConfig } from '../../../src/config/schema.ts'

export const POOLS = ['web', 'api', 'next', 'extra'] as const
export type PoolName = typeof POOLS[number]
/** Every upstream the test starts, by pool; a config uses a subset of them. */
export const CANDIDATES: Record<PoolName, readonly string[]> = { web: ['w1', 'w2', 'w3'], api: ['a1', 'a2', 'a3'], next: ['n1', 'n2'], extra: ['e1'] }
export const UPSTREAMS: readonly string[] = POOLS.flatMap((p) => CANDIDATES[p])
export const poolOf = (upstream: string): PoolName => POOLS.find((p) => CANDIDATES[p].includes(upstream))!

export type BalancerName = 'round-robin' | 'least-connections' | 'random' | 'p2c' | 'hash'

export interface TargetModel { name: string; weight: number; backup: boolean }
export interface PoolModel {
  targets: TargetModel[]
  balancer: BalancerName
  /** Health-check interval, or undefined: no active checks. */
  healthMs: number | undefined
  /** attempts 3 (on) or 1 (off) */
  retry: boolean
  failback: 'auto' | 'manual'
}
export interface ConfigModel {
  pools: Partial<Record<PoolName, PoolModel>>
  /** The canary weight of route 'shop' (web, canary next) in the file. */
  canaryWeight: number
}

/** What a reload's file holds: a config, or one of three invalid files. */
export type FileModel = { kind: 'valid'; config: ConfigModel } | { kind: 'syntax' | 'unknown-pool' | 'no-targets'; config: ConfigModel }

export const initialConfig = (): ConfigModel => ({
  pools: {
    web: { targets: [t('w1'), t('w2')], balancer: 'round-robin', healthMs: 100, retry: true, failback: 'auto' },
    api: { targets: [t('a1'), t('a2'), t('a3', 1, true)], balancer: 'round-robin', healthMs: 100, retry: true, failback: 'auto' },
    next: { targets: [t('n1')], balancer: 'round-robin', healthMs: 100, retry: true, failback: 'auto' },
  },
  canaryWeight: 20,
})

function t (name: string, weight = 1, backup = false): TargetModel { return { name, weight, backup } }

/** Settings every pool shares: short enough that a case of a few seconds sees detection, ejection and recovery. */
function poolJson (p: PoolModel, urlOf: (name: string) => string): Record<string, unknown> {
  return {
    targets: p.targets.map((x) => ({ url: urlOf(x.name), weight: x.weight, backup: x.backup })),
    balancer: p.balancer === 'hash' ? { type: 'hash', key: 'header:x-user' } : p.balancer,
    timeouts: { connectMs: 250, requestMs: 3000 },
    retry: { attempts: p.retry ? 3 : 1, backoff: { baseMs: 2, maxMs: 10 }, perTryTimeoutMs: 1500, budget: { percent: 100, minConcurrent: 50 } },
    circuitBreaker: { resetTimeoutMs: 300, rollingWindowMs: 2000 },
    outlier: { baseEjectionMs: 200, maxEjectionMs: 600 },
    failback: p.failback,
    ...(p.healthMs !== undefined ? { healthCheck: { path: '/health', intervalMs: p.healthMs, timeoutMs: Math.min(100, p.healthMs), healthyThreshold: 2, unhealthyThreshold: 2 } } : {}),
  }
}

export function configJson (c: ConfigModel, urlOf: (name: string) => string): GatewayConfig {
  const pools: Record<string, unknown> = {}
  for (const name of POOLS) {
    const p = c.pools[name]
    if (p !== undefined) pools[name] = poolJson(p, urlOf)
  }
  const routes: unknown[] = [
    {
      name: 'shop', path: '/shop', pool: 'web',
      canary: { pool: 'next', weight: c.canaryWeight, stickyBy: 'header:x-user', force: { header: 'x-canary', values: ['always'] }, rollback: { maxErrorRatePercent: 20, minRequests: 30, windowMs: 2000 } },
    },
    { name: 'api', path: '/api', pool: 'api' },
  ]
  if (c.pools.extra !== undefined) routes.push({ name: 'extra', path: '/extra', pool: 'extra' })
  // a short shutdown delay: some cases end with a graceful shutdown under load
  return { log: { level: 'info' }, shutdown: { delayMs: 80, timeoutMs: 3000 }, pools, routes } as unknown as GatewayConfig
}

export function fileText (f: FileModel, urlOf: (name: string) => string): string {
  const json = configJson(f.config, urlOf) as unknown as { pools: Record<string, { targets: unknown[] }>; routes: Array<{ pool: string }> }
  if (f.kind === 'syntax') return JSON.stringify(json).slice(0, 40)
  if (f.kind === 'unknown-pool') json.routes[1]!.pool = 'ghost'
  if (f.kind === 'no-targets') json.pools.web!.targets = []
  return JSON.stringify(json, null, 1)
}

/** Whether the gateway must accept this config: a valid file whose every pool has a primary target. */
export function acceptable (f: FileModel): boolean {
  if (f.kind !== 'valid') return false
  return Object.values(f.config.pools).every((p) => p.targets.some((x) => !x.backup))
}

export interface OperatorState { draining: boolean; disabled: boolean }

export interface Model {
  config: ConfigModel
  /** Per upstream name, for targets in the config (a target that leaves the config forgets it). */
  ops: Map<string, OperatorState>
  /** Pools an operator switched over to their backups. */
  hold: Set<PoolName>
  canary: { weight: number; source: 'file' | 'operator' | 'rollback' }
}

export function cloneModel (m: Model): Model {
  return {
    config: structuredClone(m.config),
    ops: new Map([...m.ops].map(([k, v]) => [k, { ...v }])),
    hold: new Set(m.hold),
    canary: { ...m.canary },
  }
}

export function inConfig (c: ConfigModel, upstream: string): TargetModel | undefined {
  return c.pools[poolOf(upstream)]?.targets.find((x) => x.name === upstream)
}
