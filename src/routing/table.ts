// The routing table: longest prefix on a segment boundary, narrowed by host and method.
// Built once per config and swapped whole on reload; lookups cost one map probe per path segment,
// however many routes there are.
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

export class RoutingTable {
  readonly #byPrefix = new Map<string, Route[]>()
  readonly size: number
  /** Every route. */
  readonly routes: readonly Route[]
  /** Whether any route is narrowed by headers (only then does a match read them). */
  readonly narrowsByHeaders: boolean

  constructor (routes: readonly RouteSpec[]) {
    for (const [index, r] of routes.entries()) {
      const prefix = normaliseRoutePath(r.path)
      const headers = r.headers === undefined ? undefined : Object.entries(r.headers).map(([name, value]) => [name.toLowerCase(), value] as const)
      const id = `${r.host ?? '*'}${prefix}${r.methods ? ` [${r.methods.join(',')}]` : ''}${headers ? ` {${headers.map(([n, v]) => `${n}=${v}`).join(',')}}` : ''}`
      const route: Route = {
        id,
        label: r.name ?? id,
        prefix,
        pool: r.pool,
        host: r.host === undefined ? undefined : stripPort(r.host).toLowerCase(),
        methods: r.methods ? new Set(r.methods) : undefined,
        headers,
        stripPrefix: r.stripPrefix,
        maxBodyBytes: r.maxBodyBytes,
        index,
      }
      const list = this.#byPrefix.get(prefix) ?? []
      list.push(route)
      this.#byPrefix.set(prefix, list)
    }
    // Most specific first within a prefix: host-bound before any-host, method-bound before any-method.
    for (const list of this.#byPrefix.values()) list.sort((a, b) => specificity(b) - specificity(a))
    this.size = routes.length
    this.routes = [...this.#byPrefix.values()].flat()
    this.narrowsByHeaders = this.routes.some((r) => r.headers !== undefined)
  }

  /** path must already be normalised (see normaliseRequestTarget). host may carry a port. */
  match (path: string, method: string, host: string | undefined, header?: HeaderLookup): RouteMatch | undefined {
    const hostname = host === undefined ? undefined : stripPort(host).toLowerCase()
    let end = path.length
    // '/a/b/' is looked up as '/a/b'
    if (end > 1 && path.charCodeAt(end - 1) === 47) end--
    for (;;) {
      const prefix = end === 0 ? '/' : path.slice(0, end)
      const candidates = this.#byPrefix.get(prefix)
      if (candidates !== undefined) {
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
