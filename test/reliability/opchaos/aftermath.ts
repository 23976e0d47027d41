// After the load stops: nothing left in flight or connected to removed targets, metrics that count every attempt,
// every target in rotation healthy again and serving, no probe schedule or breaker interval left over, and no
// removed target kept in memory.
import { slotTimersFor } from '../../../src/health/slot-timers.ts'
import { systemClock } from '../../../src/runtime.ts'
import type { Target } from '../../../src/upstream/target.ts'
import { waitUntilCollected } from '../../helpers/collected.ts'
import { waitFor } from '../../helpers/gateway.ts'
import type { CaseContext } from './context.ts'
import { send, type RouteName } from './load.ts'
import { inConfig, POOLS, type PoolName } from './model.ts'

async function eventually (ctx: CaseContext, what: string, problems: () => string[], timeoutMs: number): Promise<void> {
  try {
    await waitFor(() => problems().length === 0, timeoutMs, 20)
  } catch {
    ctx.fail(`${what}: ${problems().join('; ')}`)
  }
}

/** Nothing in flight anywhere, removed targets' connections closed, the others within keep-alive bounds. */
export function checkIdle (ctx: CaseContext): Promise<void> {
  const g = ctx.gw.gateway
  const { nameOf } = ctx.names
  return eventually(ctx, 'not idle after the load stopped', () => {
    const out: string[] = []
    if (g.proxy.active !== 0) out.push(`${g.proxy.active} requests active in the gateway`)
    for (const [runtime, tracked] of ctx.recorder.runtimes) {
      for (const t of [...runtime.pool.targets, ...runtime.pool.retiring]) if (t.inFlight !== 0) out.push(`${tracked.name}/${nameOf(t.id)} in flight ${t.inFlight}`)
      if (runtime.budget.active !== 0) out.push(`pool ${tracked.name} budget active ${runtime.budget.active}`)
    }
    for (const runtime of g.pools().values()) if (runtime.pool.retiring.length > 0) out.push(`pool ${runtime.name} still retires ${runtime.pool.retiring.map((t) => nameOf(t.id)).join()}`)
    for (const [name, u] of ctx.ups) {
      if (u.inFlight !== 0) out.push(`${name} answers ${u.inFlight} requests`)
      const wanted = inConfig(ctx.model.config, name) !== undefined
      if (!wanted && u.openSockets > 0) out.push(`${name} (not in the config) has ${u.openSockets} connections open`)
      if (wanted && u.openSockets > ctx.loops + 1) out.push(`${name} has ${u.openSockets} connections open (at most ${ctx.loops} for traffic and 1 for probes)`)
    }
    return out
  }, 3000)
}

/** Every attempt a target of the running config took is in its switchyard_upstream_attempts_total series. */
export async function checkMetrics (ctx: CaseContext): Promise<void> {
  const text = await ctx.gw.gateway.metrics!.render()
  const sums = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^switchyard_upstream_attempts_total\{pool="([^"]+)",target="([^"]+)",outcome="[^"]+"\} (\d+)$/.exec(line)
    if (m !== null) sums.set(`${m[1]}/${m[2]}`, (sums.get(`${m[1]}/${m[2]}`) ?? 0) + Number(m[3]))
  }
  for (const [name, runtime] of ctx.gw.gateway.pools()) {
    for (const t of runtime.pool.targets) {
      const counted = sums.get(`${name}/${t.id}`) ?? 0
      if (counted < t.requests) ctx.fail(`${ctx.names.nameOf(t.id)} took ${t.requests} attempts, its pool ${name} exports ${counted}`)
    }
  }
}

const LAST: Record<PoolName, { route: RouteName; path: string; headers: Record<string, string> }> = {
  web: { route: 'shop', path: '/shop/last', headers: { 'x-canary': 'never' } },
  next: { route: 'shop', path: '/shop/last', headers: { 'x-canary': 'always' } },
  api: { route: 'api', path: '/api/last', headers: {} },
  extra: { route: 'extra', path: '/extra/last', headers: {} },
}

/**
 * With every upstream up again, every target the operator left in rotation is healthy again (breakers not open),
 * and requests to each pool that has one succeed, answered by one of them.
 */
export async function checkRecovery (ctx: CaseContext): Promise<void> {
  const g = ctx.gw.gateway
  const { model, names } = ctx
  const inRotation = (pool: PoolName): string[] => (model.config.pools[pool]?.targets ?? []).map((t) => t.name)
    .filter((n) => ctx.ups.get(n)!.alive && !(model.ops.get(n)?.draining ?? false) && !(model.ops.get(n)?.disabled ?? false))
  await eventually(ctx, 'targets in rotation with their upstream up did not recover', () => {
    const out: string[] = []
    for (const name of POOLS) {
      const runtime = g.pools().get(name)
      if (runtime === undefined) continue
      if (runtime.breaker.state === 'open') out.push(`pool ${name} breaker open`)
      for (const n of inRotation(name)) {
        const t = runtime.pool.targets.find((x) => names.nameOf(x.id) === n)
        const state = t && runtime.pool.state(t)
        if (state !== 'healthy') out.push(`${n} is ${state}`)
      }
    }
    return out
  }, 3000)
  for (const name of POOLS) {
    const runtime = g.pools().get(name)
    if (runtime === undefined || inRotation(name).length === 0) continue
    // x-canary: always no longer reaches a canary rolled back for its errors (README, canary; add668e): web answers.
    // The rollback may come after the last action, even with these requests: one that brings the window to
    // minRequests judges the errors the outage left in it.
    const rolledBack = (): boolean => name === 'next' && (model.canary.source === 'rollback' || g.status().routes.find((x) => x.name === 'shop')?.canary?.weightSource === 'rollback')
    for (let i = 0; i < 6; i++) {
      const { route, path, headers } = LAST[name]
      const before = rolledBack()
      const r = await send(ctx.gw.url, false, { id: `${ctx.tag}-last-${name}-${i}`, route, method: 'GET', path, headers })
      // the request that rolls the canary back is still the canary's; every one after it is web's
      const serving = before ? inRotation('web') : rolledBack() ? [...inRotation(name), ...inRotation('web')] : inRotation(name)
      if (serving.length === 0) continue
      if (r.status !== 200 || r.upstream === undefined || !serving.includes(r.upstream)) {
        ctx.fail(`after the chaos, GET ${path} for pool ${name} answered ${r.status} ${r.errorCode ?? r.error ?? ''} by ${r.upstream ?? '-'}; in rotation and up: ${serving.join()}`)
      }
    }
  }
}

/**
 * No health-check schedule outlives its target (the shared grid holds one callback per checked target at most),
 * and no breaker outlives its pool (one rolling-window interval per running pool).
 */
export async function checkTimers (ctx: CaseContext, breakerIntervals: ReadonlySet<unknown>): Promise<void> {
  let checked = 0
  for (const runtime of ctx.gw.gateway.pools().values()) if (runtime.health !== undefined) checked += runtime.pool.targets.length
  const scheduled = slotTimersFor(systemClock).scheduled
  if (scheduled > checked) ctx.fail(`${scheduled} health probes scheduled for ${checked} checked targets`)
  const pools = ctx.gw.gateway.pools().size
  await eventually(ctx, 'breakers outlive their pools', () => breakerIntervals.size === pools ? [] : [`${breakerIntervals.size} breaker intervals alive for ${pools} pools`], 2000)
}

/**
 * A target that left the config is garbage once its requests ended. Balancers keep what they precomputed for the
 * last candidate list or two (bounded, whatever the number of reloads): targets of those lists are let off.
 */
export async function checkCollected (ctx: CaseContext): Promise<void> {
  ctx.recorder.forgetRetired()
  const kept = (): string[] => {
    const current = new Set<Target>()
    for (const runtime of ctx.gw.gateway.pools().values()) {
      for (const t of runtime.pool.targets) current.add(t)
      for (const t of ctx.recorder.recentCandidates(runtime)) current.add(t)
    }
    const out: string[] = []
    for (const ref of ctx.recorder.targets) {
      const t = ref.deref()
      if (t !== undefined && !current.has(t)) out.push(`${ctx.names.nameOf(t.id)}${t.weight !== 1 ? `:${t.weight}` : ''}`)
    }
    return out
  }
  await waitUntilCollected(kept, (held) => ctx.fail(`targets no longer in the config are still held: ${held.join(' ')}`))
}

/** Closed (as a graceful shutdown ends), the gateway leaves no probe schedule, breaker interval or upstream connection. */
export async function checkClosed (ctx: CaseContext, breakerIntervals: ReadonlySet<unknown>): Promise<void> {
  await ctx.gw.close()
  await eventually(ctx, 'left behind by the closed gateway', () => {
    const out: string[] = []
    const scheduled = slotTimersFor(systemClock).scheduled
    if (scheduled > 0) out.push(`${scheduled} health probes scheduled`)
    if (breakerIntervals.size > 0) out.push(`${breakerIntervals.size} breaker intervals`)
    for (const [name, u] of ctx.ups) if (u.openSockets > 0) out.push(`${name} has ${u.openSockets} connections open`)
    return out
  }, 2000)
}
