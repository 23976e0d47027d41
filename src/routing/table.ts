// The routing table: longest prefix on a segment boundary, narrowed by host and method.
// Built once per config and swapped whole on reload; a lookup costs one map probe per path segment (no deeper
// than the deepest route prefix), however many routes there are, and host-bound routes are indexed by host.
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

/** The routes of one prefix, most specific first, and the same per request host when some are host-bound. */
interface Bucket {
  /** Every route of the prefix: for requests whose host no route of it names. */
  readonly all: readonly Route[]
  /** Per host named by a route here: that host's routes and the any-host ones, in the order of `all`. */
  readonly byHost: ReadonlyMap<string, readonly Route[]> | undefined
}

export class RoutingTable {
  readonly #byPrefix = new Map<string, Bucket>()
  /** Segments in the longest prefix: deeper parts of a request path are never looked up. */
  readonly #maxDepth: number
  readonly #hostBound: boolean
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
    let maxDepth = 0
    for (const [prefix, list] of byPrefix) {
      // Most specific first within a prefix: host-bound before any-host, method-bound before any-method.
      list.sort((a, b) => specificity(b) - specificity(a))
      this.#byPrefix.set(prefix, { all: list, byHost: hostIndex(list) })
      maxDepth = Math.max(maxDepth, prefix === '/' ? 0 : countSlashes(prefix))
    }
    this.#maxDepth = maxDepth
    this.size = routes.length
    this.routes = [...byPrefix.values()].flat()
    this.#hostBound = this.routes.some((r) => r.host !== undefined)
    this.narrowsByHeaders = this.routes.some((r) => r.headers !== undefined)
  }

  /** path must already be normalised (see normaliseRequestTarget). host may carry a port and a trailing root dot. */
  match (path: string, method: string, host: string | undefined, header?: HeaderLookup): RouteMatch | undefined {
    const hostname = host === undefined || !this.#hostBound ? undefined : hostnameOf(host)
    // start at the deepest prefix a route can have: '/a/b/c/d' with routes two segments deep starts at '/a/b'
    let end = 0
    for (let depth = 0; depth < this.#maxDepth; depth++) {
      end = path.indexOf('/', end + 1)
      if (end === -1) break
    }
    if (end === -1) {
      end = path.length
      // '/a/b/' is looked up as '/a/b'
      if (end > 1 && path.charCodeAt(end - 1) === 47) end--
    }
    for (;;) {
      const bucket = this.#byPrefix.get(end === 0 ? '/' : path.slice(0, end))
      if (bucket !== undefined) {
        const candidates = hostname === undefined || bucket.byHost === undefined ? bucket.all : bucket.byHost.get(hostname) ?? bucket.all
        for (const route of candidates) {
          if (route.host !== undefined && route.host !== hostname) continue
          if (route.methods !== undefined && !route.methods.has(method)) continue
          if (route.headers !== undefined && !route.headers.every(([name, value]) => header?.(name) === value)) continue
          return { route, upstreamPath: route.stripPrefix ? stripPrefix(path, route.prefix) : path }
        }
      }
      if (end <= 1) return undefined
      end = path.lastIndexOf('/', end - 1)
    }
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
  const headers = r.headers === undefined ? '' : ` {${Object.entries(r.headers).map(([n, v]) => `${n.toLowerCase()}=${v}`).sort().join(',')}}`
  return `${r.host === undefined ? '*' : hostnameOf(r.host)}${normaliseRoutePath(r.path)}${methods}${headers}`
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

/** Per host named by the bucket's routes, the routes a request for that host may take, in the bucket's order. */
function hostIndex (list: readonly Route[]): ReadonlyMap<string, readonly Route[]> | undefined {
  const hosts = new Set<string>()
  for (const r of list) if (r.host !== undefined) hosts.add(r.host)
  if (hosts.size === 0) return undefined
  return new Map([...hosts].map((h) => [h, list.filter((r) => r.host === undefined || r.host === h)]))
}

function countSlashes (s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) n++
  return n
}

function specificity (r: Route): number {
  return (r.headers !== undefined ? 4 : 0) + (r.host !== undefined ? 2 : 0) + (r.methods !== undefined ? 1 : 0)
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
