// A host-bound route scopes its host, as nginx's server_name and Envoy's virtual hosts do (picked first, then the
// path): a request for a host some route names is looked up in that host's routes alone, at every prefix depth; when
// none of them matches (prefix, method, headers) there is no route, never an any-host one. Before, a longer any-host
// prefix ('/api') took admin.example.com's requests from its own '/' route, and an any-host route narrowed by a header
// outranked the host's route at the same prefix (review r36c finding 1); then a request none of the host's routes
// took fell through to the any-host catch-all, and a public pool served the internal host (review r36g).
import t from 'tap'
import { type RouteSpec, RoutingTable } from '../../src/routing/table.ts'

const route = (path: string, pool: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({ path, pool, stripPrefix: false, ...extra })

const table = new RoutingTable([
  route('/', 'admin', { host: 'admin.example.com' }),
  route('/users', 'admin-users', { host: 'admin.example.com' }),
  route('/reports', 'admin-reports', { host: 'admin.example.com', methods: ['GET'] }),
  route('/api', 'public'),
  route('/users', 'beta', { headers: { 'x-beta': 'yes' } }),
  route('/', 'public-root'),
])
const poolOf = (path: string, host: string | undefined, headers: Record<string, string> = {}, method = 'GET'): string | undefined =>
  table.match(path, method, host, (name) => headers[name])?.route.pool

t.test("a longer any-host prefix does not take a host's requests from the host's own shorter route", async (t) => {
  t.equal(poolOf('/api/keys', 'admin.example.com'), 'admin')
  t.equal(poolOf('/api', 'Admin.Example.com.:8443'), 'admin', 'host in any case, with its port and root dot')
  t.equal(poolOf('/api/keys', 'www.example.com'), 'public', 'other hosts keep the longest any-host prefix')
  t.equal(poolOf('/api/keys', undefined), 'public', 'so does a request without a host')
})

t.test("an any-host route with headers does not outrank the host's route at the same prefix", async (t) => {
  t.equal(poolOf('/users/42', 'admin.example.com', { 'x-beta': 'yes' }), 'admin-users')
  t.equal(poolOf('/users/42', 'www.example.com', { 'x-beta': 'yes' }), 'beta')
})

t.test("within the host's routes: the longest prefix, then method", async (t) => {
  t.equal(poolOf('/users/42', 'admin.example.com'), 'admin-users')
  t.equal(poolOf('/reports/q1', 'admin.example.com'), 'admin-reports')
  t.equal(poolOf('/reports/q1', 'admin.example.com', {}, 'POST'), 'admin', 'a method the longer host route does not take falls to the shorter one')
})

t.test("a host's requests none of its routes matches reach no any-host route", async (t) => {
  const narrow = new RoutingTable([
    route('/tenant', 'tenant', { host: 'a.example', methods: ['GET'] }),
    route('/tenant/admin', 'tenant-admin', { host: 'a.example', headers: { 'x-role': 'admin' } }),
    route('/tenant/v2', 'v2'),
    route('/', 'root'),
  ])
  const pool = (path: string, method: string, headers: Record<string, string> = {}): string | undefined =>
    narrow.match(path, method, 'a.example', (name) => headers[name])?.route.pool
  t.equal(pool('/tenant/v2/x', 'GET'), 'tenant', "the host's shorter prefix before a longer any-host one")
  t.equal(pool('/tenant/v2/x', 'POST'), undefined, 'no host route takes POST: no route (the any-host /tenant/v2 is not its)')
  t.equal(pool('/tenant/admin/x', 'POST', { 'x-role': 'admin' }), 'tenant-admin')
  t.equal(pool('/other', 'GET'), undefined, "not the any-host catch-all: no route")
  t.equal(narrow.match('/other', 'GET', 'b.example')?.route.pool, 'root', 'a host no route names takes the any-host routes')
  t.equal(narrow.match('/tenant/v2/x', 'POST', undefined)?.route.pool, 'v2', 'so does a request without a host')
  t.equal(new RoutingTable([route('/x', 'h', { host: 'a.example' })]).match('/y', 'GET', 'a.example'), undefined, 'no route at all: no match')
})
