// Of two routes tried at one step of a lookup (one host scope, one prefix, one rank), the one listed first answers
// a request both match. A reload that only swaps two such routes changes which pool answers, yet its diff said
// 'routes +0 -0 ~0' and the reload's answer, log line and event with it. They are now listed as changed; a
// reorder that decides no request (routes no one request can match both of, or of another rank or prefix) is
// still no change (review r36c finding 5).
import t from 'tap'
import { describeDiff, diffConfigs } from '../../src/config/diff.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { RoutingTable } from '../../src/routing/table.ts'

const configOf = (routes: Record<string, unknown>[]) => validateConfig({
  pools: { b: { targets: ['http://127.0.0.1:1'] }, c: { targets: ['http://127.0.0.1:2'] } },
  routes,
})
const diffOfReversed = (routes: Record<string, unknown>[]) => diffConfigs(configOf(routes), configOf([...routes].reverse()))

t.test('swapping two routes that one request can both match is a change of both', async (t) => {
  const routes = [{ path: '/x', pool: 'b', methods: ['GET'] }, { path: '/x', pool: 'c', methods: ['GET', 'POST'] }]
  const before = new RoutingTable(configOf(routes).routes)
  const after = new RoutingTable(configOf([...routes].reverse()).routes)
  t.not(before.match('/x/1', 'GET', 'h')?.route.pool, after.match('/x/1', 'GET', 'h')?.route.pool, 'the reorder changes routing')
  const diff = diffOfReversed(routes)
  t.strictSame(diff.routes, { added: [], removed: [], changed: ['*/x [GET,POST]', '*/x [GET]'] })
  t.notOk(diff.identical)
  t.equal(describeDiff(diff), 'routes +0 -0 ~2, pools +0 -0 ~0, targets +0 -0 ~0')
})

t.test('the same for header routes, host routes and named routes', async (t) => {
  const cases: [Record<string, unknown>[], string[]][] = [
    [[{ path: '/h', pool: 'b', headers: { 'x-a': '1' } }, { path: '/h', pool: 'c', headers: { 'X-B': '2' } }], ['*/h {x-a=1}', '*/h {x-b=2}']],
    [[{ path: '/h', pool: 'b', headers: { 'x-tenant': 'a', 'x-beta': '1' } }, { path: '/h', pool: 'c', headers: { 'X-Tenant': 'a', 'x-role': '2' } }],
      ['*/h {x-beta=1,x-tenant=a}', '*/h {x-role=2,x-tenant=a}']],
    [[{ path: '/h', pool: 'b', host: 'a.example', methods: ['GET'] }, { path: '/h', pool: 'c', host: 'A.example.', methods: ['GET', 'PUT'] }],
      ['a.example/h [GET,PUT]', 'a.example/h [GET]']],
    [[{ name: 'one', path: '/n', pool: 'b', methods: ['GET'] }, { name: 'two', path: '/n/', pool: 'c', methods: ['HEAD', 'GET'] }], ['one', 'two']],
  ]
  for (const [routes, changed] of cases) t.strictSame(diffOfReversed(routes).routes.changed, changed, JSON.stringify(routes))
})

t.test('a reorder that decides no request is no change', async (t) => {
  const cases: Record<string, unknown>[][] = [
    [{ path: '/x', pool: 'b', methods: ['GET'] }, { path: '/x', pool: 'c', methods: ['POST'] }],
    [{ path: '/h', pool: 'b', headers: { 'x-a': '1' } }, { path: '/h', pool: 'c', headers: { 'x-a': '2' } }],
    [{ path: '/x', pool: 'b', methods: ['GET'] }, { path: '/x', pool: 'c' }],
    [{ path: '/x', pool: 'b', methods: ['GET'] }, { path: '/y', pool: 'c', methods: ['GET'] }],
    [{ path: '/x', pool: 'b', host: 'a.example', methods: ['GET'] }, { path: '/x', pool: 'c', methods: ['GET'] }],
    [{ path: '/x', pool: 'b', host: 'a.example', methods: ['GET'] }, { path: '/x', pool: 'c', host: 'b.example', methods: ['GET'] }],
  ]
  for (const routes of cases) {
    const diff = diffOfReversed(routes)
    t.strictSame(diff.routes.changed, [], JSON.stringify(routes))
    t.ok(diff.identical, JSON.stringify(routes))
  }
})

t.test('a route changed and reordered is listed once', async (t) => {
  const before = configOf([{ path: '/x', pool: 'b', methods: ['GET'] }, { path: '/x', pool: 'c', methods: ['GET', 'POST'] }])
  const after = configOf([{ path: '/x', pool: 'b', methods: ['GET', 'POST'], stripPrefix: true }, { path: '/x', pool: 'b', methods: ['GET'] }])
  t.strictSame(diffConfigs(before, after).routes, { added: [], removed: [], changed: ['*/x [GET,POST]', '*/x [GET]'] })
})
