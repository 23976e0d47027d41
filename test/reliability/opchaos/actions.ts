// Operator actions, what fast-check generates them from, and what each should do to the model (transition):
// the answer the admin API must give and the state that follows. Pure: the world runs them against the gateway.
import fc from 'fast-check'
import { acceptable, CANDIDATES, cloneModel, inConfig, poolOf, type BalancerName, type ConfigModel, type FileModel, type Model, type PoolName, UPSTREAMS } from './model.ts'

export type Change =
  | { op: 'add' | 'remove'; target: string }
  | { op: 'weight'; target: string; weight: number }
  | { op: 'backup'; target: string; backup: boolean }
  | { op: 'balancer'; pool: PoolName; balancer: BalancerName }
  | { op: 'health'; pool: PoolName; healthMs: number | undefined }
  | { op: 'retry'; pool: PoolName; on: boolean }
  | { op: 'failback'; pool: PoolName; mode: 'auto' | 'manual' }
  | { op: 'extra'; on: boolean }
  | { op: 'canaryWeight'; weight: number }
  | { op: 'invalid'; how: 'syntax' | 'unknown-pool' | 'no-targets' }
  | { op: 'same' }

export type SingleAction =
  | { kind: 'drain' | 'enable' | 'disable'; target: string }
  | { kind: 'switchover' | 'failback'; pool: PoolName }
  | { kind: 'breaker'; pool: PoolName; state: 'open' | 'closed' }
  | { kind: 'canary'; weight: number }
  | { kind: 'reload'; change: Change }
  | { kind: 'kill' | 'restart'; target: string }
  /** kill, then wait (up to 600 ms) until the gateway has noticed: unhealthy, ejected or no longer in rotation */
  | { kind: 'outage'; target: string }
  | { kind: 'wait'; ms: number }

export type Action = SingleAction | { kind: 'race'; a: SingleAction; b: SingleAction }

export function describe (a: Action): string {
  switch (a.kind) {
    case 'race': return `race(${describe(a.a)}, ${describe(a.b)})`
    case 'reload': {
      const { op, ...rest } = a.change
      return `reload ${op}${Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : ''}`
    }
    case 'drain': case 'enable': case 'disable': case 'kill': case 'restart': case 'outage': return `${a.kind} ${a.target}`
    case 'switchover': case 'failback': return `${a.kind} ${a.pool}`
    case 'breaker': return `breaker ${a.pool} ${a.state}`
    case 'canary': return `canary ${a.weight}`
    case 'wait': return `wait ${a.ms}`
  }
}

// Each sequence acts mostly on a few targets of its own choosing (its focus), so that the actions meet: two
// primaries of one pool drained, a target killed then its pool's checks turned off, … Uniform choices over every
// target almost never line them up. The focus is weighted to the pools with the most to interact: api (primaries
// and a backup), then web (three primaries).
const focusTarget = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...CANDIDATES.api) },
  { weight: 2, arbitrary: fc.constantFrom(...CANDIDATES.web) },
  { weight: 1, arbitrary: fc.constantFrom(...CANDIDATES.next, ...CANDIDATES.extra) },
)
const focus = fc.uniqueArray(focusTarget, { minLength: 1, maxLength: 3 })

function actionsOn (targets: readonly string[]): fc.Arbitrary<Action> {
  const upstream = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...targets) }, { weight: 1, arbitrary: fc.constantFrom(...UPSTREAMS) })
  const focusPools = [...new Set(targets.map(poolOf))]
  const pool = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...focusPools) }, { weight: 1, arbitrary: fc.constantFrom<PoolName>('api', 'web', 'next', 'extra') })
  const change: fc.Arbitrary<Change> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('add' as const, 'remove' as const), target: upstream }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('weight' as const), target: upstream, weight: fc.constantFrom(1, 2, 3) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('backup' as const), target: fc.constantFrom(...CANDIDATES.api), backup: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('balancer' as const), pool, balancer: fc.constantFrom<BalancerName>('round-robin', 'least-connections', 'random', 'p2c', 'hash') }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('health' as const), pool, healthMs: fc.constantFrom(undefined, undefined, 80, 150) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('retry' as const), pool, on: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('failback' as const), pool: fc.constantFrom<PoolName>('api', 'web'), mode: fc.constantFrom('auto' as const, 'manual' as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('extra' as const), on: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('canaryWeight' as const), weight: fc.constantFrom(0, 20, 50, 100) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('invalid' as const), how: fc.constantFrom('syntax' as const, 'unknown-pool' as const, 'no-targets' as const) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'same' as const }) },
  )
  const single: fc.Arbitrary<SingleAction> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constantFrom('drain' as const, 'enable' as const, 'disable' as const), target: upstream }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('switchover' as const, 'failback' as const), pool }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('breaker' as const), pool, state: fc.constantFrom('open' as const, 'closed' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('canary' as const), weight: fc.constantFrom(0, 10, 50, 100) }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('reload' as const), change }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('kill' as const, 'restart' as const, 'outage' as const), target: upstream }) },
    // short waits let actions overlap requests; long ones let health checks, ejections and breakers act
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 10, max: 100 }), fc.integer({ min: 250, max: 600 })) }) },
  )
  return fc.oneof(
    { weight: 6, arbitrary: single },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('race' as const), a: single, b: single }) },
  )
}

/** A sequence of operator actions, mostly on the targets of its focus. */
export const sequence: fc.Arbitrary<Action[]> = focus.chain((targets) => fc.array(actionsOn(targets), { minLength: 3, maxLength: 12 }))

/** The file a reload with `change` writes, from the config the model runs now. */
export function fileFor (current: ConfigModel, c: Change): FileModel {
  const config = structuredClone(current)
  if (c.op === 'invalid') return { kind: c.how, config }
  const p = 'pool' in c ? config.pools[c.pool] : 'target' in c ? config.pools[poolOf(c.target)] : undefined
  switch (c.op) {
    case 'add':
      if (p !== undefined && !p.targets.some((x) => x.name === c.target)) p.targets.push({ name: c.target, weight: 1, backup: c.target === 'a3' })
      break
    case 'remove':
      if (p !== undefined) p.targets = p.targets.filter((x) => x.name !== c.target)
      break
    case 'weight': case 'backup': {
      const x = p?.targets.find((y) => y.name === c.target)
      if (x !== undefined && c.op === 'weight') x.weight = c.weight
      if (x !== undefined && c.op === 'backup') x.backup = c.backup
      break
    }
    case 'balancer': if (p) p.balancer = c.balancer; break
    case 'health': if (p) p.healthMs = c.healthMs; break
    case 'retry': if (p) p.retry = c.on; break
    case 'failback': if (p) p.failback = c.mode; break
    case 'extra':
      if (c.on && config.pools.extra === undefined) config.pools.extra = { targets: [{ name: 'e1', weight: 1, backup: false }], balancer: 'round-robin', healthMs: 100, retry: true, failback: 'auto' }
      if (!c.on) delete config.pools.extra
      break
    case 'canaryWeight': config.canaryWeight = c.weight; break
    case 'same': break
  }
  return { kind: 'valid', config }
}

/** What the admin API must answer: a status, and for a reload its result. */
export interface Expect {
  status: number
  result?: 'success' | 'unchanged'
  /**
   * A target a reload removed is still found while /status lists it (finishing requests): 200, and it stays
   * draining whatever the action (README, admin API: "A target a reload removed that /status still lists … can be
   * named too"; 7247b60). Whether it still finishes requests is the load's timing: 404 or that 200.
   */
  retiring?: boolean
  /**
   * A switchover (failback) is refused 409 with this code, changing nothing, when no backup (primary) is available
   * then (README, admin API): which is the upstreams' health at that moment, so either answer is right.
   */
  refusable?: 'no_available_backup' | 'no_available_primary'
}

/** The next model and the expected answer of one action run alone (undefined: nothing to answer). */
export function transition (m: Model, a: SingleAction, sameConfig: (a: ConfigModel, b: ConfigModel) => boolean): { model: Model; expect: Expect | undefined } {
  const next = cloneModel(m)
  switch (a.kind) {
    case 'drain': case 'enable': case 'disable': {
      if (next.config.pools[poolOf(a.target)] === undefined) return { model: next, expect: { status: 404 } }
      if (inConfig(next.config, a.target) === undefined) return { model: next, expect: { status: 404, retiring: true } }
      const op = next.ops.get(a.target) ?? { draining: false, disabled: false }
      if (a.kind === 'drain') op.draining = true
      if (a.kind === 'disable') op.disabled = true
      if (a.kind === 'enable') { op.draining = false; op.disabled = false }
      next.ops.set(a.target, op)
      return { model: next, expect: { status: 200 } }
    }
    case 'switchover': case 'failback':
      if (next.config.pools[a.pool] === undefined) return { model: next, expect: { status: 404 } }
      // a pool with no standby holds nothing: a switchover or failback there is refused, and arms (or drops) nothing
      if (!next.config.pools[a.pool]!.targets.some((x) => x.backup)) return { model: next, expect: { status: 409 } }
      if (a.kind === 'switchover') next.hold.add(a.pool)
      else next.hold.delete(a.pool)
      return { model: next, expect: { status: 200, refusable: a.kind === 'switchover' ? 'no_available_backup' : 'no_available_primary' } }
    case 'canary':
      next.canary = { weight: a.weight, source: 'operator' }
      return { model: next, expect: { status: 200 } }
    case 'reload':
      return applyFile(next, fileFor(m.config, a.change), sameConfig)
    case 'kill': case 'restart': case 'outage': case 'breaker': case 'wait':
      // not the operator's state: the upstreams' (journal.ts) and the gateway's own (recorder.ts)
      return { model: next, expect: undefined }
  }
}

/** A reload of `file`: applied when acceptable (a no-op when it equals the running config), refused otherwise. */
export function applyFile (next: Model, file: FileModel, sameConfig: (a: ConfigModel, b: ConfigModel) => boolean): { model: Model; expect: Expect } {
  if (!acceptable(file)) return { model: next, expect: { status: 422 } }
  if (sameConfig(next.config, file.config)) return { model: next, expect: { status: 200, result: 'unchanged' } }
  const canaryWeightBefore = next.config.canaryWeight
  next.config = file.config
  // a target that leaves the config forgets its operator state (it comes back as a new target)
  for (const name of [...next.ops.keys()]) if (inConfig(next.config, name) === undefined) next.ops.delete(name)
  // a switchover ends with a config that leaves the pool no backups (README, hot reload: "it stays switched over if
  // an operator switched it over and it still has backups"; ba733ee, 823821e; a kept pool likewise: pool.ts)
  for (const p of [...next.hold]) if (next.config.pools[p] === undefined || !next.config.pools[p]!.targets.some((x) => x.backup)) next.hold.delete(p)
  // a reload that changes the route's canary settings (here, its weight in the file) starts it from the file; one
  // that leaves them keeps the weight, where it came from (an operator, a rollback) and its error window
  if (file.config.canaryWeight !== canaryWeightBefore) next.canary = { weight: file.config.canaryWeight, source: 'file' }
  return { model: next, expect: { status: 200, result: 'success' } }
}
