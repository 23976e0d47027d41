// What a reload changes: routes, pools and targets by identity, plus the changed paths of every other setting.
import { canonicalJson, poolSettingsJson } from './hash.ts'
import { canonicalDnsName, type PoolConfig, type ResolvedConfig, type RouteConfig } from './schema.ts'
import { mayMatchSameRequest, routeIdOf, tieKeyOf } from '../routing/table.ts'

export interface Changes {
  added: string[]
  removed: string[]
  changed: string[]
}

export interface ConfigDiff {
  /** By name when the route has one, else by host, path and sorted methods. */
  routes: Changes
  /** By name; "changed" means a field other than targets changed. */
  pools: Changes
  /**
   * By 'pool/origin', and a DNS-discovered name by 'pool/dns:protocol://name:port'; "changed" means weight or backup
   * changed. Targets of added or removed pools are listed too.
   */
  targets: Changes
  /** Changed leaf paths outside pools and routes, e.g. 'log.level', 'server.trustedProxies'. */
  settings: string[]
  /**
   * The settings of `next` that take effect only when the gateway restarts (RESTART_REQUIRED_SETTINGS) and differ
   * from those it runs with: the config it started with, when diffConfigs is given it, else `previous`. Listed by
   * every reload until one puts them back or the gateway restarts.
   */
  restartRequired: string[]
  /**
   * No change in any list above. A config can differ from the running one (a different hash) and still be
   * identical here: targets reordered, routes reordered where order decides no request (see reorderedRoutes),
   * route methods reordered, a route path with a trailing slash, or a target URL spelled differently with the
   * same origin.
   */
  identical: boolean
}

/**
 * Settings a running gateway does not apply on reload: the listeners are bound (address, port, SO_REUSEPORT,
 * backlog), Node's parser takes maxHeaderBytes when the server is made, the overload watch, the metrics registry and
 * the log destination are set up at start. A reload that changes one says so (restartRequired); every other
 * setting is applied in place.
 */
export const RESTART_REQUIRED_SETTINGS: readonly string[] = [
  'server.host', 'server.port', 'server.reusePort', 'server.backlog', 'server.maxHeaderBytes',
  'server.maxEventLoopDelayMs', 'server.maxHeapUsedBytes', 'server.maxRssBytes',
  'admin.host', 'admin.port', 'metrics.enabled', 'log.destination', 'log.pretty',
]

/** `running`: the config whose restart-required settings are in force (the one the process started with). */
export function diffConfigs (previous: ResolvedConfig, next: ResolvedConfig, running: ResolvedConfig = previous): ConfigDiff {
  const routes = compare(routesById(previous.routes), routesById(next.routes))
  const reordered = reorderedRoutes(previous.routes, next.routes).filter((id) => !routes.changed.includes(id))
  if (reordered.length > 0) routes.changed = [...routes.changed, ...reordered].sort()
  const pools = compare(poolsById(previous.pools), poolsById(next.pools))
  const targets = compare(targetsById(previous.pools), targetsById(next.pools))
  const settings = settingPaths(previous, next)
  const identical = [routes, pools, targets].every((c) => c.added.length + c.removed.length + c.changed.length === 0) && settings.length === 0
  const restartRequired = running === previous ? restartRequiredOf(settings) : restartRequiredChanges(running, next)
  return { routes, pools, targets, settings, restartRequired, identical }
}

/** One line, e.g. 'routes +1 -0 ~2, pools +0 -1 ~0, targets +3 -1 ~0, settings ~1 (log.level)'. */
export function describeDiff (diff: ConfigDiff): string {
  const counts = (label: string, c: Changes): string => `${label} +${c.added.length} -${c.removed.length} ~${c.changed.length}`
  const parts = [counts('routes', diff.routes), counts('pools', diff.pools), counts('targets', diff.targets)]
  if (diff.settings.length > 0) parts.push(`settings ~${diff.settings.length} (${diff.settings.join(', ')})`)
  if (diff.restartRequired.length > 0) parts.push(`restart needed for ${diff.restartRequired.join(', ')}`)
  return parts.join(', ')
}

/** The restart-required settings of `next` that differ from those of `running` (the config in force at start). */
export function restartRequiredChanges (running: ResolvedConfig, next: ResolvedConfig): string[] {
  return restartRequiredOf(settingPaths(running, next))
}

// a restart-required setting that is an object or array changes at its leaves: it is named once, by its own path
function restartRequiredOf (paths: readonly string[]): string[] {
  return RESTART_REQUIRED_SETTINGS.filter((setting) => paths.some((p) => p === setting || p.startsWith(`${setting}.`))).sort()
}

/** Each entry's identity mapped to the canonical JSON of what counts as its settings. */
type Fingerprints = Map<string, string>

function compare (before: Fingerprints, after: Fingerprints): Changes {
  const changes: Changes = { added: [], removed: [], changed: [] }
  for (const [id, print] of after) {
    const old = before.get(id)
    if (old === undefined) changes.added.push(id)
    else if (old !== print) changes.changed.push(id)
  }
  for (const id of before.keys()) if (!after.has(id)) changes.removed.push(id)
  for (const list of Object.values(changes)) list.sort()
  return changes
}

/** A route's name, else its id in the routing table (unique in a valid config). */
export function routeId (route: RouteConfig): string {
  return route.name ?? routeIdOf(route)
}

// A resolved config is frozen: its fingerprints are worked out once, so a reload compares the running config's from
// the last reload's work (a 5,000-route, 2,000-target config's took ~20 ms a time)
const routePrints = new WeakMap<ResolvedConfig['routes'], Fingerprints>()
const targetPrints = new WeakMap<ResolvedConfig['pools'], Fingerprints>()

function routesById (routes: ResolvedConfig['routes']): Fingerprints {
  const cached = routePrints.get(routes)
  if (cached !== undefined) return cached
  const out: Fingerprints = new Map()
  routePrints.set(routes, out)
  for (const route of routes) {
    let id = routeId(route)
    // (validation refuses two routes with one name or one id; the count keeps them apart should one slip through)
    for (let n = 2; out.has(id); n++) id = `${routeId(route)}#${n}`
    // what a request is matched on, compared as the routing table reads it (its id: '/a/' is '/a', method and
    // header order, the host's case and trailing dot mean nothing); the rest as written
    const { path: _path, host: _host, methods: _methods, headers: _headers, ...rest } = route
    out.set(id, canonicalJson({ ...rest, match: routeIdOf(route) }))
  }
  return out
}

/**
 * Routes kept by a reload whose order against each other now decides otherwise: two routes tried at one step of a
 * lookup (tieKeyOf: one host scope, prefix and rank) that one request could match, listed the other way round. The
 * first listed answers, so such a reload changes routing though no route changed.
 */
function reorderedRoutes (previous: ResolvedConfig['routes'], next: ResolvedConfig['routes']): string[] {
  // the ids routesById gave, in route order (a Map keeps insertion order)
  const beforeAt = new Map([...routesById(previous).keys()].map((id, i) => [id, i]))
  const nextIds = [...routesById(next).keys()]
  const ties = new Map<string, number[]>()
  next.forEach((route, i) => {
    if (!beforeAt.has(nextIds[i]!)) return
    const key = tieKeyOf(route)
    const list = ties.get(key)
    if (list === undefined) ties.set(key, [i])
    else list.push(i)
  })
  const out = new Set<string>()
  for (const tie of ties.values()) {
    for (const group of apartByHeader(next, tie)) {
      const was = group.map((i) => beforeAt.get(nextIds[i]!)!)
      // the common case, nothing moved: one pass, no pairs compared
      if (was.every((at, k) => k === 0 || was[k - 1]! < at)) continue
      for (let a = 0; a < group.length; a++) {
        for (let b = a + 1; b < group.length; b++) {
          if (was[a]! > was[b]! && mayMatchSameRequest(next[group[a]!]!, next[group[b]!]!)) {
            out.add(nextIds[group[a]!]!)
            out.add(nextIds[group[b]!]!)
          }
        }
      }
    }
  }
  return [...out]
}

/**
 * Tied header routes split by the value of a header every one of them names: no request matches two parts. So a
 * reload that reverses 5,000 routes told apart by x-tenant compares none of them in pairs (it took 5 s).
 */
function apartByHeader (routes: ResolvedConfig['routes'], tie: readonly number[]): number[][] {
  const valueOf = (i: number, name: string): string | undefined => {
    for (const [n, v] of Object.entries(routes[i]!.headers ?? {})) if (n.toLowerCase() === name) return v
    return undefined
  }
  for (const first of Object.keys(routes[tie[0]!]!.headers ?? {})) {
    const name = first.toLowerCase()
    const parts = new Map<string, number[]>()
    for (const i of tie) {
      const value = valueOf(i, name)
      if (value === undefined) break
      const part = parts.get(value)
      if (part === undefined) parts.set(value, [i])
      else part.push(i)
    }
    if ([...parts.values()].reduce((n, part) => n + part.length, 0) === tie.length) return [...parts.values()]
  }
  return [[...tie]]
}

function poolsById (pools: ResolvedConfig['pools']): Fingerprints {
  const out: Fingerprints = new Map()
  for (const [name, pool] of Object.entries(pools)) out.set(name, poolSettingsJson(pool as PoolConfig))
  return out
}

function targetsById (pools: ResolvedConfig['pools']): Fingerprints {
  const cached = targetPrints.get(pools)
  if (cached !== undefined) return cached
  const out: Fingerprints = new Map()
  targetPrints.set(pools, out)
  for (const [name, pool] of Object.entries(pools)) {
    for (const target of pool.targets) {
      // validateConfig rejects two targets with one origin in a pool, so the origin identifies a target
      out.set(`${name}/${new URL(target.url).origin}`, canonicalJson({ weight: target.weight, backup: target.backup }))
    }
    for (const spec of pool.discover) {
      // the name as its lookups compare it (case and a trailing dot mean nothing); a name listed twice is counted apart
      const key = `${name}/dns:${spec.protocol}://${canonicalDnsName(spec.dns)}:${spec.port}`
      let id = key
      for (let n = 2; out.has(id); n++) id = `${key}#${n}`
      out.set(id, canonicalJson({ weight: spec.weight, backup: spec.backup }))
    }
  }
  return out
}

/** Leaf paths that differ in every top-level section other than pools and routes; arrays are leaves. */
function settingPaths (previous: ResolvedConfig, next: ResolvedConfig): string[] {
  const paths: string[] = []
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[key], b[key], path ? `${path}.${key}` : key)
    } else if (canonicalJson(a) !== canonicalJson(b)) {
      paths.push(path)
    }
  }
  const { pools: _p1, routes: _r1, ...before } = previous
  const { pools: _p2, routes: _r2, ...after } = next
  walk(before, after, '')
  return paths.sort()
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
