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
