// The routing table's indexes (prefix map, depth cut, host index) against a plain scan of every route with the
// documented precedence: longest prefix on a segment boundary, then headers > host > methods, then config order.
import t from 'tap'
import type { HttpMethod } from '../../src/config/schema.ts'
import { RoutingTable, type RouteSpec } from '../../src/routing/table.ts'
import { mulberry32 } from './prng.ts'

interface Request { path: string; method: string; host: string | undefined; headers: Record<string, string> }

function reference (routes: readonly RouteSpec[], r: Request): number | undefined {
  const hostname = r.host?.replace(/:\d+$/, '').toLowerCase()
  let best: { index: number; length: number; specificity: number } | undefined
  routes.forEach((route, index) => {
    const prefix = route.path
    const onBoundary = prefix === '/' || r.path === prefix || r.path.startsWith(`${prefix}/`)
    if (!onBoundary) return
    if (route.host !== undefined && route.host.replace(/:\d+$/, '').toLowerCase() !== hostname) return
    if (route.methods !== undefined && !route.methods.includes(r.method)) return
    if (route.headers !== undefined && !Object.entries(route.headers).every(([n, v]) => r.headers[n] === v)) return
    const specificity = (route.headers ? 4 : 0) + (route.host ? 2 : 0) + (route.methods ? 1 : 0)
    const length = prefix === '/' ? 0 : prefix.length
    if (best === undefined || length > best.length || (length === best.length && specificity > best.specificity)) best = { index, length, specificity }
  })
  return best?.index
}

t.test('matches exactly what a scan of every route would, on random tables and requests', async (t) => {
  const rng = mulberry32(42)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!
  const segments = ['a', 'b', 'api', 'v1']
  const randomPath = (maxDepth: number): string => {
    const depth = Math.floor(rng() * (maxDepth + 1))
    return '/' + Array.from({ length: depth }, () => pick(segments)).join('/')
  }
  let checked = 0
  for (let round = 0; round < 60; round++) {
    const routes: RouteSpec[] = Array.from({ length: 1 + Math.floor(rng() * 40) }, (_, i) => ({
      path: randomPath(3),
      pool: `p${i}`,
      stripPrefix: rng() < 0.5,
      ...(rng() < 0.3 ? { host: pick(['one.example', 'Two.example', 'three.example:8443']) } : {}),
      ...(rng() < 0.3 ? { methods: [pick(['GET', 'POST'] as HttpMethod[])] } : {}),
      ...(rng() < 0.15 ? { headers: { 'x-canary': pick(['1', '2']) } } : {}),
    }))
    const table = new RoutingTable(routes)
    for (let n = 0; n < 200; n++) {
      const request: Request = {
        path: randomPath(6) + (rng() < 0.2 ? '/' : ''),
        method: pick(['GET', 'POST', 'PUT']),
        host: pick([undefined, 'one.example', 'ONE.example:8080', 'two.example', 'three.example', 'other.example']),
        headers: rng() < 0.5 ? { 'x-canary': pick(['1', '2']) } : {},
      }
      const path = request.path.replace(/^\/\/$/, '/')
      const got = table.match(path, request.method, request.host, (name) => request.headers[name])?.route.index
      const want = reference(routes, { ...request, path })
      if (got !== want) {
        t.fail(`${JSON.stringify(request)} on ${JSON.stringify(routes)}: ${got} vs ${want}`)
        return
      }
      checked++
    }
  }
  t.equal(checked, 60 * 200)
})

t.test('a path deeper than every route is looked up from the deepest route prefix down', async (t) => {
  const table = new RoutingTable([
    { path: '/', pool: 'root', stripPrefix: false },
    { path: '/svc1/api', pool: 's1', stripPrefix: true },
    { path: '/svc2', pool: 's2', stripPrefix: false },
  ])
  const cases: [string, string, string][] = [
    ['/svc1/api/v1/items/42', 's1', '/v1/items/42'],
    ['/svc1/api/', 's1', '/'],
    ['/svc1/apix/y', 'root', '/svc1/apix/y'],
    ['/svc2/a/b/c/d/e/f', 's2', '/svc2/a/b/c/d/e/f'],
    ['/svc1', 'root', '/svc1'],
    ['/', 'root', '/'],
  ]
  for (const [path, pool, upstream] of cases) {
    const m = table.match(path, 'GET', undefined)
    t.strictSame([m?.route.pool, m?.upstreamPath], [pool, upstream], path)
  }
})

t.test('only a root route: every path reaches it', async (t) => {
  const table = new RoutingTable([{ path: '/', pool: 'root', stripPrefix: false }])
  for (const path of ['/', '/a', '/a/b/', '/a/b/c']) t.equal(table.match(path, 'GET', undefined)?.route.pool, 'root', path)
})

t.test('10,000 routes: host-bound and any-host routes on one prefix keep their precedence', async (t) => {
  const routes: RouteSpec[] = []
  for (let i = 0; i < 5000; i++) routes.push({ path: '/shared', pool: `h${i}`, host: `h${i}.example`, stripPrefix: false })
  routes.push({ path: '/shared', pool: 'any-post', methods: ['POST'], stripPrefix: false })
  routes.push({ path: '/shared', pool: 'any', stripPrefix: false })
  for (let i = 0; routes.length < 10_000; i++) routes.push({ path: `/svc${i}/api`, pool: `s${i}`, stripPrefix: false })
  const table = new RoutingTable(routes)
  t.equal(table.size, 10_000)
  t.equal(table.match('/shared/x', 'GET', 'h4321.example:80')?.route.pool, 'h4321')
  t.equal(table.match('/shared/x', 'POST', 'h4321.example')?.route.pool, 'h4321', 'host-bound beats method-bound')
  t.equal(table.match('/shared/x', 'POST', 'nobody.example')?.route.pool, 'any-post')
  t.equal(table.match('/shared', 'GET', undefined)?.route.pool, 'any')
  t.equal(table.match('/svc4000/api/v2', 'GET', 'h1.example')?.route.pool, 's4000')
  t.equal(table.match('/svc4000/ap', 'GET', undefined), undefined)
})
