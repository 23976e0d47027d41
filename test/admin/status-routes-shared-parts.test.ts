// What /status shows of each route is built once per config and routing table (src/admin/status.ts describedRoutes):
// - a route without reads, canary or mirror is the same object in every document of one config (built once, not
//   per document: the live dashboard builds one every second), and a reload builds new ones;
// - each route's id is the routing table's for that route (by its config index), also when the table lists the
//   routes in another order (routes sharing a prefix are grouped there).
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a route is built once per config, and a reload builds it again', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const base: GatewayConfig = { pools: { p: { targets: [u.url] } }, routes: [{ path: '/a', pool: 'p' }] }
  let next = base
  const gw = await startGateway(base, { defaultMetrics: false, env: {}, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(async () => { await gw.close(); await u.close() })
  const first = gw.gateway.status().routes[0]
  t.equal(gw.gateway.status().routes[0], first, 'the same route object in the next document')
  next = { ...base, routes: [{ path: '/a', pool: 'p', methods: ['GET'] }] }
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  const after = gw.gateway.status().routes[0]!
  t.not(after, first, 'a reload builds it again')
  t.strictSame(after.methods, ['GET'])
})

t.test("each route's id is the routing table's for it, when the table orders routes otherwise", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({
    pools: { p: { targets: [u.url] } },
    // the table groups the routes by prefix: /a GET, /a POST, /b
    routes: [{ path: '/a', pool: 'p', methods: ['GET'] }, { path: '/b', pool: 'p' }, { path: '/a', pool: 'p', methods: ['POST'] }],
  }, { defaultMetrics: false, env: {} })
  t.teardown(async () => { await gw.close(); await u.close() })
  const byIndex = new Map(gw.gateway.proxy.state.table.routes.map((r) => [r.index, r.id]))
  t.strictSame(gw.gateway.status().routes.map((r) => r.id), [byIndex.get(0), byIndex.get(1), byIndex.get(2)])
  t.strictSame(gw.gateway.status().routes.map((r) => r.path), ['/a', '/b', '/a'])
  t.not(byIndex.get(1), gw.gateway.proxy.state.table.routes[1]!.id, 'the table does order them otherwise')
})
