// Whether the running gateway agrees with the operator's model: its config, each pool's targets and their operator
// states (in the pool and in /status), switchovers and the tier they imply, the canary weight, the routes; and what
// a reload must report as changed.
import type { Gateway } from '../../../src/app.ts'
import { configHash } from '../../../src/config/hash.ts'
import { validateConfig } from '../../../src/config/validate.ts'
import { configJson, POOLS, type ConfigModel, type Model } from './model.ts'

export interface Names {
  /** An upstream's URL, by name. */
  urlOf (name: string): string
  /** An upstream's name, by target id (host:port). */
  nameOf (id: string): string
}

export interface Changes { added: string[]; removed: string[]; changed: string[] }

/** Two configs the gateway must hash alike (the same file). */
export function sameConfig (a: ConfigModel, b: ConfigModel): boolean {
  const url = (n: string): string => n
  return JSON.stringify(configJson(a, url)) === JSON.stringify(configJson(b, url))
}

/** Every way the running gateway disagrees with the model. */
export function disagreements (g: Gateway, m: Model, names: Names): string[] {
  const problems: string[] = []
  const status = g.status()
  const expectedHash = configHash(validateConfig(configJson(m.config, names.urlOf)))
  if (status.configHash !== expectedHash) problems.push(`configHash ${status.configHash}, the model's config hashes to ${expectedHash}`)
  const poolsWanted = Object.keys(m.config.pools).sort()
  const poolsRun = Object.keys(status.pools).sort()
  if (poolsWanted.join() !== poolsRun.join()) problems.push(`pools ${poolsRun.join()} instead of ${poolsWanted.join()}`)
  for (const name of POOLS) {
    const want = m.config.pools[name]
    const runtime = g.pools().get(name)
    if (want === undefined || runtime === undefined) continue
    const pool = runtime.pool
    const run = pool.targets.map((t) => `${names.nameOf(t.id)}:${t.weight}${t.backup ? 'b' : ''}`).sort().join()
    const wanted = want.targets.map((t) => `${t.name}:${t.weight}${t.backup ? 'b' : ''}`).sort().join()
    if (run !== wanted) problems.push(`pool ${name} runs targets ${run}, the config has ${wanted}`)
    const views = status.pools[name]!.targets
    for (const t of pool.targets) {
      const target = names.nameOf(t.id)
      const op = m.ops.get(target) ?? { draining: false, disabled: false }
      const s = pool.status(t)
      if (s.draining !== op.draining || s.disabled !== op.disabled) {
        problems.push(`${target}: draining ${s.draining} disabled ${s.disabled}, the operator left it draining ${op.draining} disabled ${op.disabled}`)
      }
      const word = views.find((v) => v.id === t.id && v.url === t.url)?.state ?? ''
      const wantWord = op.disabled ? ['disabled'] : op.draining ? ['draining', 'drained'] : undefined
      if (wantWord !== undefined ? !wantWord.includes(word) : ['disabled', 'draining', 'drained'].includes(word)) problems.push(`/status calls ${target} ${word}`)
    }
    const held = m.hold.has(name)
    if (pool.tierSetByOperator !== held) problems.push(`pool ${name}: switchover by operator ${pool.tierSetByOperator}, the operator ${held ? 'switched it over' : 'did not switch it over (or failed it back)'}`)
    const healthy = (backup: boolean): boolean => pool.targets.some((t) => t.backup === backup && pool.state(t) === 'healthy')
    const tier = pool.tier
    if (held && healthy(true) && tier !== 'backup') problems.push(`pool ${name}: switched over with a healthy backup, but traffic is on ${tier}`)
    if (!held && want.failback === 'auto' && healthy(false) && tier !== 'primary') problems.push(`pool ${name}: failback auto with a healthy primary, but traffic is on ${tier}`)
  }
  const canary = status.routes.find((r) => r.name === 'shop')?.canary
  if (canary === undefined) problems.push('route shop has no canary in /status')
  else if (canary.weightSource === 'rollback') {
    // the gateway's own decision (the world adopts it): only its weight is known
    if (canary.weight !== 0) problems.push(`canary rolled back to weight ${canary.weight}`)
  } else if (canary.weight !== m.canary.weight || canary.weightSource !== m.canary.source) {
    problems.push(`canary weight ${canary.weight} (${canary.weightSource}), the model has ${m.canary.weight} (${m.canary.source})`)
  }
  const routes = status.routes.map((r) => r.name).sort().join()
  const wantRoutes = ['api', 'shop', ...(m.config.pools.extra ? ['extra'] : [])].sort().join()
  if (routes !== wantRoutes) problems.push(`routes ${routes}, the config has ${wantRoutes}`)
  return problems
}

/** What a reload from `a` to `b` changes, as POST /reload reports it: routes, pools and targets, each sorted. */
export function expectedDiff (a: ConfigModel, b: ConfigModel, urlOf: (name: string) => string): Changes[] {
  const compare = (x: Map<string, string>, y: Map<string, string>): Changes => ({
    added: [...y.keys()].filter((k) => !x.has(k)).sort(),
    removed: [...x.keys()].filter((k) => !y.has(k)).sort(),
    changed: [...y.keys()].filter((k) => x.has(k) && x.get(k) !== y.get(k)).sort(),
  })
  const routes = (c: ConfigModel): Map<string, string> => new Map([['shop', String(c.canaryWeight)], ['api', ''], ...(c.pools.extra ? [['extra', ''] as [string, string]] : [])])
  const pools = (c: ConfigModel): Map<string, string> => new Map(Object.entries(c.pools).map(([n, p]) => [n, JSON.stringify({ ...p, targets: undefined })]))
  const targets = (c: ConfigModel): Map<string, string> => new Map(Object.entries(c.pools).flatMap(([n, p]) => p.targets.map((t) => [`${n}/${urlOf(t.name)}`, `${t.weight}${t.backup}`] as [string, string])))
  return [compare(routes(a), routes(b)), compare(pools(a), pools(b)), compare(targets(a), targets(b))]
}
