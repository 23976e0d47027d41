// A route's id (its label when unnamed: metrics, the admin API, and the key that carries a canary's state across a
// reload) is the same however the route spells its methods, host and headers.
import t from 'tap'
import { RoutingTable, routeIdOf } from '../../src/routing/table.ts'

const base = { path: '/api/', pool: 'p', stripPrefix: false }

t.test('methods in any order, repeated or not, give one id', async (t) => {
  const ids = [['GET', 'POST'], ['POST', 'GET'], ['POST', 'GET', 'POST']].map((methods) => routeIdOf({ ...base, methods }))
  t.equal(new Set(ids).size, 1)
})

t.test('a host in any case, with or without its trailing root dot, gives one id', async (t) => {
  const ids = ['api.example.com', 'API.Example.COM', 'api.example.com.'].map((host) => routeIdOf({ ...base, host }))
  t.equal(new Set(ids).size, 1)
})

t.test('headers in any order and name case give one id', async (t) => {
  const spellings: Array<Record<string, string>> = [{ 'X-A': '1', 'x-b': '2' }, { 'x-b': '2', 'x-a': '1' }]
  const ids = spellings.map((headers) => routeIdOf({ ...base, headers }))
  t.equal(new Set(ids).size, 1)
})

t.test('what does narrow a route still tells ids apart', async (t) => {
  const ids = [
    routeIdOf(base),
    routeIdOf({ ...base, methods: ['GET'] }),
    routeIdOf({ ...base, host: 'a.example' }),
    routeIdOf({ ...base, headers: { 'x-a': '1' } }),
    routeIdOf({ ...base, headers: { 'x-a': '2' } }),
    routeIdOf({ ...base, path: '/other' }),
  ]
  t.equal(new Set(ids).size, ids.length)
})

t.test("the table's routes carry that id, and it labels unnamed routes", async (t) => {
  const a = new RoutingTable([{ ...base, methods: ['POST', 'GET'], host: 'API.example.com' }, { ...base, path: '/n', name: 'named' }])
  const b = new RoutingTable([{ ...base, methods: ['GET', 'POST'], host: 'api.example.com' }, { ...base, path: '/n', name: 'named' }])
  t.strictSame(a.routes.map((r) => r.id), b.routes.map((r) => r.id))
  t.strictSame(a.routes.map((r) => r.label), b.routes.map((r) => r.label))
  t.equal(a.routes.find((r) => r.prefix === '/n')!.label, 'named', 'a name still wins')
})

// A route's id names its methods in upper case (src/routing/table.ts routeIdOf: "methods sorted and deduplicated"),
// so a route written with `methods: ['get']` and one with `['GET']` at the same path are recognised as one route: the
// config check computes ids from the raw config (src/config/validate.ts routeKeyOf, before the schema refuses 'get')
// and reports the duplicate in the same pass as the spelling, and an id never differs by the case a method was typed in.
// Pins the `.toUpperCase()` of routeIdOf.
t.test('route ids name methods in upper case, once each', async (t) => {
  t.equal(routeIdOf({ path: '/a', methods: ['get', 'Post'] }), routeIdOf({ path: '/a', methods: ['POST', 'GET'] }), 'case and order of the methods do not matter')
  t.equal(routeIdOf({ path: '/a', methods: ['get', 'GET'] }), '*/a [GET]', "'get' and 'GET' are one method")
})
