// A request's Host may end with the root dot ('api.example.com.' is the same name, RFC 1034 §3.1): it matches a
// route for 'api.example.com', as Envoy's strip_trailing_host_dot has it. Only one dot is the root's.
import t from 'tap'
import { RoutingTable } from '../../src/routing/table.ts'

const table = new RoutingTable([
  { path: '/', pool: 'api', host: 'api.example.com', stripPrefix: false },
  { path: '/', pool: 'any', stripPrefix: false },
])
const poolFor = (host: string): string | undefined => table.match('/x', 'GET', host)?.route.pool

t.test('one trailing dot is stripped from the request host, with or without a port', async (t) => {
  t.equal(poolFor('api.example.com'), 'api')
  t.equal(poolFor('api.example.com.'), 'api')
  t.equal(poolFor('API.Example.com.'), 'api')
  t.equal(poolFor('api.example.com.:8080'), 'api')
})

t.test('other names are not taken for it', async (t) => {
  t.equal(poolFor('api.example.com..'), 'any', 'two dots are no root dot')
  t.equal(poolFor('.'), 'any')
  t.equal(poolFor('api.example.co'), 'any')
})

t.test('a route written with the root dot matches both spellings', async (t) => {
  const dotted = new RoutingTable([{ path: '/', pool: 'api', host: 'api.example.com.', stripPrefix: false }])
  t.equal(dotted.match('/x', 'GET', 'api.example.com')?.route.pool, 'api')
  t.equal(dotted.match('/x', 'GET', 'api.example.com.')?.route.pool, 'api')
})
