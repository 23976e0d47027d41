import t, { type Test } from 'tap'
import type { HttpMethod, RouteConfig } from '../../src/config/schema.ts'
import { RoutingTable } from '../../src/routing/table.ts'

function route (path: string, pool: string, extra: { host?: string; methods?: HttpMethod[]; stripPrefix?: boolean } = {}): RouteConfig {
  return { path, pool, stripPrefix: extra.stripPrefix ?? false, ...(extra.host ? { host: extra.host } : {}), ...(extra.methods ? { methods: extra.methods } : {}) }
}

/** [path, method, host, expected pool or undefined, expected upstream path?] */
type Case = [path: string, method: string, host: string | undefined, pool: string | undefined, upstream?: string]

function check (t: Test, table: RoutingTable, cases: readonly Case[]): void {
  for (const [path, method, host, pool, upstream] of cases) {
    const m = table.match(path, method, host)
    const label = `${method} ${host ?? '(no host)'} ${path}`
    if (pool === undefined) {
      t.equal(m, undefined, `${label} → no route`)
      continue
    }
    t.equal(m?.route.pool, pool, `${label} → ${pool}`)
    if (upstream !== undefined) t.equal(m?.upstreamPath, upstream, `${label} forwards ${upstream}`)
  }
}


t.test('prefixes match on segment boundaries only', async (t) => {
  const table = new RoutingTable([route('/payment', 'pay')])
  check(t, table, [
    ['/payment', 'GET', undefined, 'pay', '/payment'],
    ['/payment/', 'GET', undefined, 'pay', '/payment/'],
    ['/payment/x', 'GET', undefined, 'pay', '/payment/x'],
    ['/payment/x/y/', 'GET', undefined, 'pay', '/payment/x/y/'],
    ['/paymentX', 'GET', undefined, undefined],
    ['/payments', 'GET', undefined, undefined],
    ['/paymentx/y', 'GET', undefined, undefined],
    ['/pay', 'GET', undefined, undefined],
    ['/pay/ment', 'GET', undefined, undefined],
    ['/', 'GET', undefined, undefined],
    ['/other/payment', 'GET', undefined, undefined],
  ])
})

t.test('longest prefix wins, whatever the order routes are listed in', async (t) => {
  const routes = [route('/', 'root'), route('/api', 'api'), route('/api/v1', 'v1'), route('/api/v1/users', 'users'), route('/api/v2/', 'v2')]
  const cases: Case[] = [
    ['/', 'GET', undefined, 'root'],
    ['/x', 'GET', undefined, 'root'],
    ['/apix', 'GET', undefined, 'root'],
    ['/api', 'GET', undefined, 'api'],
    ['/api/', 'GET', undefined, 'api'],
    ['/api/v3', 'GET', undefined, 'api'],
    ['/api/v1', 'GET', undefined, 'v1'],
    ['/api/v1/orders/9', 'GET', undefined, 'v1'],
    ['/api/v1/users', 'GET', undefined, 'users'],
    ['/api/v1/users/42', 'GET', undefined, 'users'],
    ['/api/v1/usersX', 'GET', undefined, 'v1'],
    ['/api/v2', 'GET', undefined, 'v2', '/api/v2'],
    ['/api/v2/x', 'GET', undefined, 'v2'],
  ]
  check(t, new RoutingTable(routes), cases)
  check(t, new RoutingTable([...routes].reverse()), cases)
})

t.test('root route catches everything', async (t) => {
  check(t, new RoutingTable([route('/', 'root')]), [
    ['/', 'GET', undefined, 'root', '/'],
    ['/a', 'POST', 'x.com', 'root', '/a'],
    ['/a/b/c/', 'GET', undefined, 'root', '/a/b/c/'],
  ])
})

t.test('host narrows a route: case-insensitive, port ignored, IPv6 brackets', async (t) => {
  const table = new RoutingTable([
    route('/x', 'example', { host: 'Example.COM' }),
    route('/x', 'loopback6', { host: '[::1]' }),
    route('/x', 'any'),
    route('/only', 'only', { host: 'only.example' }),
  ])
  check(t, table, [
    ['/x', 'GET', 'example.com', 'example'],
    ['/x', 'GET', 'EXAMPLE.com', 'example'],
    ['/x', 'GET', 'example.com:8080', 'example'],
    ['/x/y', 'GET', 'Example.Com:443', 'example'],
    ['/x', 'GET', '[::1]', 'loopback6'],
    ['/x', 'GET', '[::1]:8080', 'loopback6'],
    ['/x', 'GET', '[::2]:8080', 'any'],
    ['/x', 'GET', 'other.com', 'any'],
    ['/x', 'GET', 'example.com.evil', 'any'],
    ['/x', 'GET', 'sub.example.com', 'any'],
    ['/x', 'GET', undefined, 'any', '/x'],
    ['/only', 'GET', 'only.example', 'only'],
    ['/only', 'GET', 'ONLY.EXAMPLE:80', 'only'],
    ['/only', 'GET', 'other', undefined],
    ['/only', 'GET', undefined, undefined],
  ])
})

t.test('a host-bound route that does not match falls back to a shorter prefix', async (t) => {
  const table = new RoutingTable([route('/api/v1', 'tenant', { host: 'a.com' }), route('/api', 'shared')])
  check(t, table, [
    ['/api/v1/x', 'GET', 'a.com', 'tenant'],
    ['/api/v1/x', 'GET', 'b.com', 'shared'],
    ['/api/v1/x', 'GET', undefined, 'shared'],
  ])
  const longerAnyHost = new RoutingTable([route('/api', 'tenant', { host: 'a.com' }), route('/api/v1', 'v1')])
  check(t, longerAnyHost, [
    ['/api/v1/x', 'GET', 'a.com', 'v1'], // the longer prefix wins over host specificity
    ['/api/x', 'GET', 'a.com', 'tenant'],
  ])
})

t.test('methods narrow a route', async (t) => {
  const table = new RoutingTable([
    route('/x', 'writes', { methods: ['POST', 'PUT'] }),
    route('/x', 'reads', { methods: ['GET', 'HEAD'] }),
    route('/x', 'any'),
    route('/y', 'yget', { methods: ['GET'] }),
    route('/', 'root'),
  ])
  check(t, table, [
    ['/x', 'POST', undefined, 'writes'],
    ['/x/1', 'PUT', undefined, 'writes'],
    ['/x', 'GET', undefined, 'reads'],
    ['/x', 'HEAD', undefined, 'reads'],
    ['/x', 'DELETE', undefined, 'any'],
    ['/x', 'OPTIONS', undefined, 'any'],
    ['/y', 'GET', undefined, 'yget'],
    ['/y', 'POST', undefined, 'root', '/y'], // no method match at /y → shorter prefix
  ])
})

t.test('the most specific route of one prefix wins: host+method > host > method > any', async (t) => {
  const routes = [
    route('/s', 'any'),
    route('/s', 'method', { methods: ['GET'] }),
    route('/s', 'host', { host: 'h.com' }),
    route('/s', 'host+method', { host: 'h.com', methods: ['GET'] }),
  ]
  const cases: Case[] = [
    ['/s', 'GET', 'h.com', 'host+method'],
    ['/s', 'POST', 'h.com', 'host'],
    ['/s', 'GET', 'x.com', 'method'],
    ['/s', 'POST', 'x.com', 'any'],
  ]
  check(t, new RoutingTable(routes), cases)
  check(t, new RoutingTable([...routes].reverse()), cases)
})

t.test('stripPrefix', async (t) => {
  const table = new RoutingTable([
    route('/payment', 'pay', { stripPrefix: true }),
    route('/api/v1/', 'v1', { stripPrefix: true }),
    route('/keep', 'keep'),
    route('/', 'root', { stripPrefix: true }),
  ])
  check(t, table, [
    ['/payment/x', 'GET', undefined, 'pay', '/x'],
    ['/payment/x/y', 'GET', undefined, 'pay', '/x/y'],
    ['/payment/x/', 'GET', undefined, 'pay', '/x/'],
    ['/payment', 'GET', undefined, 'pay', '/'],
    ['/payment/', 'GET', undefined, 'pay', '/'],
    ['/api/v1', 'GET', undefined, 'v1', '/'],
    ['/api/v1/users', 'GET', undefined, 'v1', '/users'],
    ['/keep/x', 'GET', undefined, 'keep', '/keep/x'],
    ['/other/x', 'GET', undefined, 'root', '/other/x'], // stripping '/' changes nothing
    ['/', 'GET', undefined, 'root', '/'],
  ])
})

t.test('route facts', async (t) => {
  const table = new RoutingTable([route('/a/', 'p', { host: 'H.com', methods: ['GET'], stripPrefix: true }), route('/b', 'q')])
  t.equal(table.size, 2)
  const m = table.match('/a/x', 'GET', 'h.com')!
  t.equal(m.route.prefix, '/a', 'trailing slash dropped from the prefix')
  t.equal(m.route.host, 'h.com', 'host lower-cased')
  t.ok(m.route.methods?.has('GET'))
  t.equal(m.route.stripPrefix, true)
  t.equal(typeof m.route.id, 'string')
  t.not(table.match('/b', 'GET', undefined)!.route.id, m.route.id, 'routes have distinct ids')
  t.equal(new RoutingTable([]).match('/', 'GET', undefined), undefined, 'an empty table matches nothing')
})

t.test('10,000 routes still match correctly', async (t) => {
  const routes: RouteConfig[] = []
  for (let i = 0; i < 10_000; i++) {
    routes.push(route(`/svc${i}`, `pool${i}`))
    if (i % 10 === 0) routes.push(route(`/svc${i}/admin`, `admin${i}`, { stripPrefix: true }))
  }
  const table = new RoutingTable(routes)
  t.equal(table.size, 11_000)
  let wrong = 0
  for (let i = 0; i < 10_000; i++) {
    const deep = table.match(`/svc${i}/a/b/c`, 'GET', 'h')
    if (deep?.route.pool !== `pool${i}` || deep.upstreamPath !== `/svc${i}/a/b/c`) wrong++
    if (table.match(`/svc${i}`, 'GET', undefined)?.route.pool !== `pool${i}`) wrong++
    if (table.match(`/svc${i}x`, 'GET', undefined) !== undefined) wrong++
    if (i % 10 === 0) {
      const admin = table.match(`/svc${i}/admin/users`, 'GET', undefined)
      if (admin?.route.pool !== `admin${i}` || admin.upstreamPath !== '/users') wrong++
    }
  }
  t.equal(wrong, 0, 'every lookup answered correctly')
  t.equal(table.match('/svc10000', 'GET', undefined), undefined)
  t.equal(table.match('/nothing/svc1', 'GET', undefined), undefined)
})
