// Turns an untrusted config value into a ResolvedConfig, or a ConfigError listing every problem with its path.
import { isIP } from 'node:net'
import proxyAddr from '@fastify/proxy-addr'
import type * as z from 'zod'
import { ConfigError } from '../errors.ts'
import { routeIdOf } from '../routing/table.ts'
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_HEALTH_INTERVAL_MS, DEFAULT_HEALTH_TIMEOUT_MS, gatewayConfigSchema, reservedPoolNameProblem, targetIdOf, type ResolvedConfig } from './schema.ts'

export function validateConfig (input: unknown, source?: string): ResolvedConfig {
  // found on the raw input: the schema would read a Map, a Set or a Date as an object without keys, that is as {}
  const nonPlain = nonPlainObjects(input)
  const parsed = gatewayConfigSchema.safeParse(input)
  const issues = parsed.success ? [] : parsed.error.issues
  // a value the schema already refused as a whole (a Set where an array goes), or under an unknown field, keeps the
  // schema's word; the others replace what the schema said of their empty insides ("pool: is required")
  const notPlain = nonPlain.filter((n) => !schemaRefused(issues, n.path))
  // relations between fields are checked on the raw input too, so one run reports every problem
  const problems = [
    ...notPlain.map((n) => `${n.path.length > 0 ? `${formatPath(n.path)}: ` : ''}must be a plain object, got ${n.tag}`),
    ...issues.filter((i) => !notPlain.some((n) => isWithin(i.path, n.path))).flatMap((i) => describeIssue(i).split('\n')),
    ...protoPoolProblems(input),
    ...semanticProblems(parsed.success ? parsed.data : input),
  ]
  // keys the schema parser passes over without a word (e.g. an own '__proto__'): unknown all the same
  if (parsed.success && isObject(input)) {
    for (const key of Object.keys(input)) if (!Object.hasOwn(gatewayConfigSchema.shape, key)) problems.push(`${key}: unknown field`)
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems, source)
  return deepFreeze(parsed.data) as ResolvedConfig
}

type Loose = Record<string, unknown>
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Deeper than any object of the schema: past it the schema has refused the value already (wrong type, unknown field). */
const MAX_WALK_DEPTH = 16

/**
 * The objects in an input that are neither plain objects (null-prototype and class instances included) nor arrays:
 * a Map, Set, Date, typed array, boxed primitive... The schema takes none anywhere, but reads only own enumerable keys.
 * Cycles and shared objects are walked once.
 */
function nonPlainObjects (input: unknown): { path: PropertyKey[], tag: string }[] {
  const found: { path: PropertyKey[], tag: string }[] = []
  const seen = new WeakSet<object>()
  const walk = (value: unknown, path: PropertyKey[]): void => {
    if (typeof value !== 'object' || value === null) return
    const tag = Object.prototype.toString.call(value).slice(8, -1)
    if (tag !== 'Object' && tag !== 'Array') {
      found.push({ path, tag })
      return
    }
    if (seen.has(value) || path.length >= MAX_WALK_DEPTH) return
    seen.add(value)
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]))
    // the schema parser drops an own '__proto__' key (reported apart as unknown, or by protoPoolProblems)
    else for (const key of Object.keys(value)) if (key !== '__proto__') walk((value as Loose)[key], [...path, key])
  }
  walk(input, [])
  return found
}

/** Whether path is base or under it. */
function isWithin (path: readonly PropertyKey[], base: readonly PropertyKey[]): boolean {
  return path.length >= base.length && base.every((part, i) => part === path[i])
}

/** Whether the schema refused the value at path, or one it is part of, already: by its type, or as an unknown field. */
function schemaRefused (issues: readonly z.core.$ZodIssue[], path: readonly PropertyKey[]): boolean {
  return issues.some((i) => i.code === 'unrecognized_keys'
    ? i.keys.some((key) => isWithin(path, [...i.path, key]))
    : isWithin(path, i.path))
}

/** The schema parser drops an own '__proto__' key (JSON.parse makes one) without a word: a pool named so vanishes. */
function protoPoolProblems (input: unknown): string[] {
  return isObject(input) && isObject(input.pools) && Object.hasOwn(input.pools, '__proto__') ? [`pools.__proto__: ${reservedPoolNameProblem('__proto__')}`] : []
}

/** Problems a schema cannot see: relations between fields. Tolerates malformed input (the schema reports that). */
function semanticProblems (input: unknown): string[] {
  const problems: string[] = []
  if (!isObject(input)) return problems
  const pools = isObject(input.pools) ? input.pools : {}
  for (const [name, pool] of Object.entries(pools)) {
    if (!isObject(pool)) continue
    const targets = Array.isArray(pool.targets) ? pool.targets : []
    const seen = new Map<string, number>()
    targets.forEach((t: unknown, i) => {
      const url = typeof t === 'string' ? t : isObject(t) && typeof t.url === 'string' ? t.url : undefined
      if (url === undefined || !URL.canParse(url)) return
      // by id (host:port): a port speaks http or https, not both, and metrics and the admin API name targets by it
      const key = targetIdOf(new URL(url))
      const first = seen.get(key)
      if (first !== undefined) problems.push(`pools.${name}.targets[${i}].url: duplicates targets[${first}] (${key})`)
      else seen.set(key, i)
    })
    // parsed pools keep DNS-discovered targets apart (discover); raw input has them among the targets
    const all = [...targets, ...(Array.isArray(pool.discover) ? pool.discover : [])]
    if (all.length > 0 && all.every((t: unknown) => isObject(t) && t.backup === true)) {
      problems.push(`pools.${name}.targets: needs at least one primary target (all are backup: true)`)
    }
    // a field left out is read at its default, so one run reports the problem whether the rest of the file parsed
    // or not (the raw input is all there is when it did not), in the same words
    const hc = pool.healthCheck
    if (isObject(hc)) {
      const timeoutMs = hc.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS
      const intervalMs = hc.intervalMs ?? DEFAULT_HEALTH_INTERVAL_MS
      if (typeof timeoutMs === 'number' && typeof intervalMs === 'number' && timeoutMs > intervalMs) {
        problems.push(`pools.${name}.healthCheck.timeoutMs: ${timeoutMs} must not exceed intervalMs (${intervalMs}) (defaults: timeoutMs ${DEFAULT_HEALTH_TIMEOUT_MS}, intervalMs ${DEFAULT_HEALTH_INTERVAL_MS})`)
      }
    }
    const backoff = isObject(pool.retry) && isObject(pool.retry.backoff) ? pool.retry.backoff : undefined
    if (backoff) {
      const baseMs = backoff.baseMs ?? DEFAULT_BACKOFF_BASE_MS
      const maxMs = backoff.maxMs ?? DEFAULT_BACKOFF_MAX_MS
      if (typeof maxMs === 'number' && typeof baseMs === 'number' && maxMs < baseMs) {
        problems.push(`pools.${name}.retry.backoff.maxMs: ${maxMs} must be at least baseMs (${baseMs}) (defaults: baseMs ${DEFAULT_BACKOFF_BASE_MS}, maxMs ${DEFAULT_BACKOFF_MAX_MS})`)
      }
    }
  }
  const server = isObject(input.server) ? input.server : {}
  if (Array.isArray(server.trustedProxies)) {
    server.trustedProxies.forEach((entry: unknown, i) => {
      if (typeof entry !== 'string') return
      try {
        proxyAddr.compile(entry)
      } catch {
        problems.push(`server.trustedProxies[${i}]: '${entry}' is not an IP address or CIDR range`)
      }
    })
  }
  const admin = isObject(input.admin) ? input.admin : {}
  const sharedPort = listenersOverlap(server, admin)
  if (sharedPort !== undefined) problems.push(`admin.port: ${sharedPort} is server.port too, on an overlapping address (server.host '${String(server.host)}', admin.host '${String(admin.host)}'): the admin listener needs a port of its own`)
  const routes = Array.isArray(input.routes) ? input.routes : []
  const names = new Map<string, number>()
  const routeKeys = new Map<string, number>()
  routes.forEach((r: unknown, i) => {
    if (!isObject(r)) return
    if (typeof r.name === 'string') {
      const first = names.get(r.name)
      if (first !== undefined) problems.push(`routes[${i}].name: '${r.name}' already names routes[${first}]`)
      else names.set(r.name, i)
    }
    if (typeof r.path !== 'string') return
    if (typeof r.pool === 'string' && !Object.hasOwn(pools, r.pool)) problems.push(`routes[${i}].pool: names unknown pool '${r.pool}'`)
    // a split route's path is its read-your-writes cookie's Path attribute, where ';' would end the attribute
    if (isObject(r.reads) && r.path.includes(';')) problems.push(`routes[${i}].path: a route with reads must not have ';' in its path (it is the read-your-writes cookie's Path)`)
    // lag is only ever learnt from a health check: without one, maxLagMs would be accepted and judge nothing
    if (isObject(r.reads) && r.reads.maxLagMs !== undefined && typeof r.reads.pool === 'string') {
      const readPool = Object.hasOwn(pools, r.reads.pool) ? pools[r.reads.pool] : undefined
      if (isObject(readPool) && readPool.healthCheck === undefined) problems.push(`routes[${i}].reads.maxLagMs: pool '${r.reads.pool}' has no healthCheck, the only way a replica reports its lag`)
    }
    // the pools a split, a canary or a mirror sends to: known, and not the route's own pool
    for (const part of ['reads', 'canary', 'mirror'] as const) {
      const other = r[part]
      if (!isObject(other) || typeof other.pool !== 'string') continue
      if (!Object.hasOwn(pools, other.pool)) problems.push(`routes[${i}].${part}.pool: names unknown pool '${other.pool}'`)
      else if (other.pool === r.pool) problems.push(`routes[${i}].${part}.pool: must be another pool than the route's own ('${r.pool}')`)
    }
    // a mirror of a pool that already answers the request would send it there twice, writes included
    const mirrorPool = isObject(r.mirror) ? r.mirror.pool : undefined
    for (const part of ['canary', 'reads'] as const) {
      const other = r[part]
      if (typeof mirrorPool === 'string' && isObject(other) && other.pool === mirrorPool) {
        problems.push(`routes[${i}].mirror.pool: '${mirrorPool}' is the route's ${part} pool too: every request it answers would be sent to it twice`)
      }
    }
    // the routing table's own identity (its host lower-cased, without the root dot, an IP literal in one spelling;
    // methods and headers sorted)
    const key = routeKeyOf(r)
    if (key === undefined) return
    const first = routeKeys.get(key)
    if (first !== undefined) problems.push(`routes[${i}]: same path, host, methods and headers as routes[${first}]`)
    else routeKeys.set(key, i)
  })
  // a replica that lags is out of its whole pool (the flag is the target's): a pool read from with maxLagMs serves
  // nothing else, or its lag would also refuse the route's, canary's or mirror's requests that never asked for it
  const lagLimited = new Set<string>()
  for (const r of routes) {
    if (isObject(r) && isObject(r.reads) && typeof r.reads.pool === 'string' && r.reads.maxLagMs !== undefined) lagLimited.add(r.reads.pool)
  }
  routes.forEach((r: unknown, i) => {
    if (!isObject(r) || lagLimited.size === 0) return
    if (typeof r.pool === 'string' && lagLimited.has(r.pool)) problems.push(`routes[${i}].pool: '${r.pool}' is read from with reads.maxLagMs, which takes lagging replicas out of the whole pool: it can only be a reads pool`)
    for (const part of ['canary', 'mirror'] as const) {
      const other = r[part]
      if (isObject(other) && typeof other.pool === 'string' && lagLimited.has(other.pool)) {
        problems.push(`routes[${i}].${part}.pool: '${other.pool}' is read from with reads.maxLagMs, which takes lagging replicas out of the whole pool: it can only be a reads pool`)
      }
    }
  })
  return problems
}

/** An IPv6 address in its one canonical spelling ('0::0', '[::]' and '0:0:0:0:0:0:0:0' are all '::'); others as given. */
function canonicalHost (host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  if (isIP(bare) === 6) return new URL(`http://[${bare}]`).hostname.slice(1, -1)
  if (isIP(bare) === 4) return bare
  // an IPv4 shorthand listen() takes as its address (127.1, 2130706433, 0x7f.1: the URL parser reads them as
  // getaddrinfo does); a name stays a name
  try {
    const parsed = new URL(`http://${bare}`).hostname
    if (isIP(parsed) === 4) return parsed
  } catch { /* not a host a URL can hold: compared as written */ }
  return host
}

/** The port the admin and public listeners would both bind (so the second one fails), or undefined. Port 0 never clashes. */
function listenersOverlap (server: Loose, admin: Loose): number | undefined {
  // the schema's defaults, for raw input whose parse failed elsewhere
  const serverHost = typeof server.host === 'string' ? server.host.toLowerCase() : '0.0.0.0'
  const adminHost = typeof admin.host === 'string' ? admin.host.toLowerCase() : '127.0.0.1'
  const serverPort = server.port ?? 8080
  const adminPort = admin.port ?? 9901
  if (typeof serverPort !== 'number' || serverPort === 0 || serverPort !== adminPort) return undefined
  return addressesOverlap(serverHost, adminHost) ? serverPort : undefined
}

/**
 * Whether two listen hosts share an address: '::' (and '', Node's default) takes the port on IPv6 and, dual-stack, on
 * IPv4 too; '0.0.0.0' takes every IPv4 address (not an IPv6 one like '::1').
 */
function addressesOverlap (first: string, second: string): boolean {
  // 'localhost' is the loopback addresses Node binds for it (either, by the resolver's order): checked as both, or
  // a gateway whose server.host is localhost and admin.host 127.0.0.1 passed `check` and failed at start
  const addresses = (host: string): string[] => host === 'localhost' ? ['127.0.0.1', '::1'] : [canonicalHost(host)]
  return addresses(first).some((a) => addresses(second).some((b) => sameAddressSpace(a, b)))
}

function sameAddressSpace (a: string, b: string): boolean {
  if (a === b || a === '' || b === '' || a === '::' || b === '::') return true
  if (a === '0.0.0.0') return isIP(b) !== 6
  if (b === '0.0.0.0') return isIP(a) !== 6
  return false
}

/** The id the routing table gives a route (without its name), when the raw route is well-formed enough to have one. */
function routeKeyOf (r: Loose): string | undefined {
  const { path, host, methods, headers } = r
  if (typeof path !== 'string' || (host !== undefined && typeof host !== 'string')) return undefined
  if (methods !== undefined && !(Array.isArray(methods) && methods.every((m) => typeof m === 'string'))) return undefined
  if (headers !== undefined && !(isObject(headers) && Object.values(headers).every((v) => typeof v === 'string'))) return undefined
  return routeIdOf({ path, host, methods, headers: headers as Record<string, string> | undefined })
}

// Fields that moved: the old name gets a sentence saying where it went, not just "unknown field".
const MOVED: Record<string, string> = {
  retryIdempotencyKey: "moved: write retry: { idempotencyKey: true }",
  shutdownGraceMs: 'replaced by the top-level shutdown: { delayMs, timeoutMs } (timeoutMs is the grace for in-flight requests)',
}

function describeIssue (issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path)
  let message = issue.message
  if (issue.code === 'unrecognized_keys') {
    const moved = issue.keys.filter((k) => Object.hasOwn(MOVED, k))
    if (moved.length > 0) return moved.map((k) => `${path ? `${path}.` : ''}${k}: ${MOVED[k]}`).join('\n')
    // at the top level the field itself is the path: one problem per field
    if (path === '') return issue.keys.map((k) => `${k}: unknown field`).join('\n')
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`
  }
  // a refused record key (a pool name): what the key's own check said, not zod's generic "Invalid key in record"
  else if (issue.code === 'invalid_key' && issue.issues.length > 0) message = issue.issues.map((i) => i.message).join('; ')
  else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) message = 'is required'
  return path ? `${path}: ${message}` : message
}

export function formatPath (path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out
}

function deepFreeze<T> (value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
