// The routing table: the request host's own routes if some route names it, else the any-host ones; in either, the
// longest prefix on a segment boundary, narrowed by headers and method.
// Built once per config and swapped whole on reload; a lookup costs one map probe per path segment (no deeper
// than the deepest route prefix) in one index, however many routes or hosts there are.
import { isIP } from 'node:net'
import { canonicalIp } from '../ip.ts'
import { normaliseRoutePath } from './path.ts'

/** What the table needs of a configured route (the config's route objects fit it). */
export interface RouteSpec {
  readonly name?: string | undefined
  readonly path: string
  readonly pool: string
  readonly methods?: readonly string[] | undefined
  readonly host?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly stripPrefix: boolean
  readonly maxBodyBytes?: number | undefined
}

/** Reads a request header (name in lower case); only routes narrowed by headers ask. */
export type HeaderLookup = (name: string) => string | undefined

export interface Route {
  readonly id: string
  /** The route's name, or its id: how metrics and the admin API call it. */
  readonly label: string
  /** Normalised prefix, no trailing slash (except '/'). */
  readonly prefix: string
  readonly pool: string
  readonly host: string | undefined
  readonly methods: ReadonlySet<string> | undefined
  /** [lower-case name, exact value] pairs the request must carry. */
  readonly headers: readonly (readonly [string, string])[] | undefined
  readonly stripPrefix: boolean
  /** Larger request bodies are refused with 413. */
  readonly maxBodyBytes: number | undefined
  /** Position in the config's route list. */
  readonly index: number
}

export interface RouteMatch {
  route: Route
  /** The path to forward upstream. */
  upstreamPath: string
}

/**
 * Routes by normalised prefix, each prefix's most specific first; and the segments in the longest prefix, past which
 * a request path is never looked up.
 */
interface PrefixIndex {
  readonly byPrefix: ReadonlyMap<string, readonly Route[]>
  readonly maxDepth: number
}

export class RoutingTable {
  /** The routes bound to no host. */
  readonly #anyHost: PrefixIndex
  /**
   * Per host named by a route, that host's routes: a request for the host is looked up in them alone, never in the
   * any-host routes (nginx's server_name, Envoy's virtual host: the host is picked first, then a route of its own).
   */
  readonly #byHost: ReadonlyMap<string, PrefixIndex>
  readonly size: number
  /** Every route. */
  readonly routes: readonly Route[]
  /** Whether any route is narrowed by headers (only then does a match read them). */
  readonly narrowsByHeaders: boolean

  constructor (routes: readonly RouteSpec[]) {
    const byPrefix = new Map<string, Route[]>()
    for (const [index, r] of routes.entries()) {
      const prefix = normaliseRoutePath(r.path)
      const headers = r.headers === undefined ? undefined : Object.entries(r.headers).map(([name, value]) => [name.toLowerCase(), value] as const)
      const id = routeIdOf(r)
      const route: Route = {
        id,
        label: r.name ?? id,
        prefix,
        pool: r.pool,
        host: r.host === undefined ? undefined : hostnameOf(r.host),
        methods: r.methods ? new Set(r.methods) : undefined,
        headers,
        stripPrefix: r.stripPrefix,
        maxBodyBytes: r.maxBodyBytes,
        index,
      }
      const list = byPrefix.get(prefix)
      if (list === undefined) byPrefix.set(prefix, [route])
      else list.push(route)
    }
    // most specific first within a prefix (a stable sort: config order among equals)
    for (const list of byPrefix.values()) list.sort((a, b) => specificity(b) - specificity(a))
    this.size = routes.length
    this.routes = [...byPrefix.values()].flat()
    const anyHost: Route[] = []
    const byHost = new Map<string, Route[]>()
    for (const route of this.routes) {
      if (route.host === undefined) anyHost.push(route)
      else {
        const list = byHost.get(route.host)
        if (list === undefined) byHost.set(route.host, [route])
        else list.push(route)
      }
    }
    this.#anyHost = prefixIndex(anyHost)
    this.#byHost = new Map([...byHost].map(([host, list]) => [host, prefixIndex(list)]))
    this.narrowsByHeaders = this.routes.some((r) => r.headers !== undefined)
  }

  /** path must already be normalised (see normaliseRequestTarget). host may carry a port and a trailing root dot. */
  match (path: string, method: string, host: string | undefined, header?: HeaderLookup): RouteMatch | undefined {
    const own = host === undefined || this.#byHost.size === 0 ? undefined : this.#byHost.get(hostnameOf(host))
    // a host some route names has its routes only: none matching is no route, never the any-host ones, as nginx's
    // server block and Envoy's virtual host answer it (falling through served an internal host's requests from the
    // public pool, under the internal Host)
    return lookup(own ?? this.#anyHost, path, method, header)
  }
}

function prefixIndex (routes: readonly Route[]): PrefixIndex {
  const byPrefix = new Map<string, Route[]>()
  let maxDepth = 0
  for (const route of routes) {
    const list = byPrefix.get(route.prefix)
    if (list === undefined) byPrefix.set(route.prefix, [route])
    else list.push(route)
    maxDepth = Math.max(maxDepth, route.prefix === '/' ? 0 : countSlashes(route.prefix))
  }
  return { byPrefix, maxDepth }
}

/** The longest prefix of index on a segment boundary with a route that takes the method and headers. */
function lookup (index: PrefixIndex, path: string, method: string, header: HeaderLookup | undefined): RouteMatch | undefined {
  // start at the deepest prefix a route can have: '/a/b/c/d' with routes two segments deep starts at '/a/b'
  let end = 0
  for (let depth = 0; depth < index.maxDepth; depth++) {
    end = path.indexOf('/', end + 1)
    if (end === -1) break
  }
  if (end === -1) {
    end = path.length
    // '/a/b/' is looked up as '/a/b'
    if (end > 1 && path.charCodeAt(end - 1) === 47) end--
  }
  for (;;) {
    const candidates = index.byPrefix.get(end === 0 ? '/' : path.slice(0, end))
    if (candidates !== undefined) {
      for (const route of candidates) {
        if (route.methods !== undefined && !route.methods.has(method)) continue
        if (route.headers !== undefined && !route.headers.every(([name, value]) => header?.(name) === value)) continue
        return { route, upstreamPath: route.stripPrefix ? stripPrefix(path, route.prefix) : path }
      }
    }
    if (end <= 1) return undefined
    end = path.lastIndexOf('/', end - 1)
  }
}

/**
 * A route's identity, stable across reloads that only respell it: methods sorted and deduplicated, host lower-cased
 * without a trailing dot (an IP literal in its one spelling), headers sorted by name (as diff.ts's routeId reads a
 * route). A canary's state is carried by it (its label) to the reloaded route, and it names an unnamed route in
 * metrics and the admin API.
 */
export function routeIdOf (r: Pick<RouteSpec, 'path' | 'host' | 'methods' | 'headers'>): string {
  const methods = r.methods === undefined ? '' : ` [${[...new Set(r.methods.map((m) => m.toUpperCase()))].sort().join(',')}]`
  const headers = r.headers === undefined ? '' : ` {${Object.entries(r.headers).map(([n, v]) => headerPairOf(n.toLowerCase(), v)).sort().join(',')}}`
  return `${r.host === undefined ? '*' : hostnameOf(r.host)}${normaliseRoutePath(r.path)}${methods}${headers}`
}

/**
 * 'name=value', as ids have always been written (they are metric labels operators alert on); a value holding the
 * id's own separators (',' or '=') as 'name:"JSON string"' instead, so { a: 'x,b=y' } and { a: 'x', b: 'y' } get
 * two ids. Unambiguous: a header name (a token) holds no ':' or '=', a plain value no ',', and a JSON string ends
 * at its first unescaped '"'.
 */
function headerPairOf (name: string, value: string): string {
  return /[,=]/.test(value) ? `${name}:${JSON.stringify(value)}` : `${name}=${value}`
}

/**
 * Routes with one tie key are tried at one step of a lookup (one host scope, one prefix, one rank), in config order:
 * when a request could match two of them (mayMatchSameRequest), the one listed first answers it.
 */
export function tieKeyOf (r: Pick<RouteSpec, 'path' | 'host' | 'methods' | 'headers'>): string {
  return `${r.host === undefined ? '*' : hostnameOf(r.host)} ${normaliseRoutePath(r.path)} ${specificity(r)}`
}

/** Whether one request could carry what both routes ask for: a method of both, and no header both name with two values. */
export function mayMatchSameRequest (a: Pick<RouteSpec, 'methods' | 'headers'>, b: Pick<RouteSpec, 'methods' | 'headers'>): boolean {
  if (a.methods !== undefined && b.methods !== undefined && !a.methods.some((m) => b.methods!.includes(m))) return false
  if (a.headers === undefined || b.headers === undefined) return true
  const wanted = new Map(Object.entries(a.headers).map(([n, v]) => [n.toLowerCase(), v]))
  return Object.entries(b.headers).every(([n, v]) => { const w = wanted.get(n.toLowerCase()); return w === undefined || w === v })
}

/**
 * The host name a Host header (or a route's host) names: no port, lower case, and no trailing root dot
 * ('api.example.com.' is the same name, as Envoy's strip_trailing_host_dot has it). A bracketed IPv6 literal is one
 * address however it is written ('[0:0::1]' is '[::1]'), so it is put in its one spelling (src/ip.ts).
 */
function hostnameOf (host: string): string {
  const name = stripPort(host)
  // only a Host starting with '[' pays for parsing: names and IPv4 (already one spelling) take the path below
  if (name.charCodeAt(0) === 91 /* [ */) return bracketedHostOf(name)
  const bare = name.length > 1 && name.charCodeAt(name.length - 1) === 46 /* . */ ? name.slice(0, -1) : name
  return bare.toLowerCase()
}

/**
 * '[v6]' in its canonical form, an IPv4-mapped one as its IPv4 address (the Host a client of that address sends);
 * anything else lower-cased as text. A zone id ('[fe80::1%25eth0]') is kept as text: canonicalIp drops it, and a
 * route cannot name one (a link-local address on another interface is another host).
 */
function bracketedHostOf (name: string): string {
  const inner = name.charCodeAt(name.length - 1) === 93 /* ] */ ? name.slice(1, -1) : ''
  const ip = isIP(inner) === 6 && !inner.includes('%') ? canonicalIp(inner) : undefined
  if (ip === undefined) return name.toLowerCase()
  return isIP(ip) === 4 ? ip : `[${ip}]`
}

function countSlashes (s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) n++
  return n
}

/** Rank within one host scope and prefix (the host is picked first, so it takes no part): headers, then methods. */
function specificity (r: { readonly headers?: object | undefined, readonly methods?: object | undefined }): number {
  return (r.headers !== undefined ? 2 : 0) + (r.methods !== undefined ? 1 : 0)
}

function stripPort (host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']')
    return close === -1 ? host : host.slice(0, close + 1)
  }
  const colon = host.indexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

function stripPrefix (path: string, prefix: string): string {
  if (prefix === '/') return path
  const rest = path.slice(prefix.length)
  return rest === '' ? '/' : rest
}
