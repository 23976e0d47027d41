// Turns an untrusted config value into a ResolvedConfig, or a ConfigError listing every problem with its path.
import proxyAddr from '@fastify/proxy-addr'
import type * as z from 'zod'
import { ConfigError } from '../errors.ts'
import { normaliseRoutePath } from '../routing/path.ts'
import { gatewayConfigSchema, type ResolvedConfig } from './schema.ts'

export function validateConfig (input: unknown, source?: string): ResolvedConfig {
  const parsed = gatewayConfigSchema.safeParse(input)
  // relations between fields are checked on the raw input too, so one run reports every problem
  const problems = [...(parsed.success ? [] : parsed.error.issues.flatMap((i) => describeIssue(i).split('\n'))), ...semanticProblems(parsed.success ? parsed.data : input)]
  // keys the schema parser passes over without a word (e.g. an own '__proto__'): unknown all the same
  if (parsed.success && isObject(input)) {
    for (const key of Object.keys(input)) if (!Object.hasOwn(gatewayConfigSchema.shape, key)) problems.push(`${key}: unknown field`)
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems, source)
  return deepFreeze(parsed.data) as ResolvedConfig
}

type Loose = Record<string, unknown>
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v)

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
      const key = new URL(url).origin
      const first = seen.get(key)
      if (first !== undefined) problems.push(`pools.${name}.targets[${i}].url: duplicates targets[${first}] (${key})`)
      else seen.set(key, i)
    })
    // parsed pools keep DNS-discovered targets apart (discover); raw input has them among the targets
    const all = [...targets, ...(Array.isArray(pool.discover) ? pool.discover : [])]
    if (all.length > 0 && all.every((t: unknown) => isObject(t) && t.backup === true)) {
      problems.push(`pools.${name}.targets: needs at least one primary target (all are backup: true)`)
    }
    const hc = pool.healthCheck
    if (isObject(hc) && typeof hc.timeoutMs === 'number' && typeof hc.intervalMs === 'number' && hc.timeoutMs > hc.intervalMs) {
      problems.push(`pools.${name}.healthCheck.timeoutMs: must not exceed intervalMs (${hc.intervalMs})`)
    }
    const backoff = isObject(pool.retry) && isObject(pool.retry.backoff) ? pool.retry.backoff : undefined
    if (backoff && typeof backoff.maxMs === 'number' && typeof backoff.baseMs === 'number' && backoff.maxMs < backoff.baseMs) {
      problems.push(`pools.${name}.retry.backoff.maxMs: must be at least baseMs (${backoff.baseMs})`)
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
    // the pools a split, a canary or a mirror sends to: known, and not the route's own pool
    for (const part of ['reads', 'canary', 'mirror'] as const) {
      const other = r[part]
      if (!isObject(other) || typeof other.pool !== 'string') continue
      if (!Object.hasOwn(pools, other.pool)) problems.push(`routes[${i}].${part}.pool: names unknown pool '${other.pool}'`)
      else if (other.pool === r.pool) problems.push(`routes[${i}].${part}.pool: must be another pool than the route's own ('${r.pool}')`)
    }
    const methods = Array.isArray(r.methods) ? [...new Set(r.methods.map(String))].sort().join(',') : '*'
    const headers = isObject(r.headers) ? Object.entries(r.headers).map(([n, v]) => `${n.toLowerCase()}=${String(v)}`).sort().join(',') : ''
    const key = [normaliseRoutePath(r.path), typeof r.host === 'string' ? r.host.toLowerCase() : '*', methods, headers].join(' ')
    const first = routeKeys.get(key)
    if (first !== undefined) problems.push(`routes[${i}]: same path, host, methods and headers as routes[${first}]`)
    else routeKeys.set(key, i)
  })
  return problems
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
