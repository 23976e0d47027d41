// What /status shows of each route is built once per config (the live dashboard builds the status every second;
// rebuilt each time, 5,000 routes were most of that work): a reload shows the new routes at once, a route's own
// state (canary weight, reads fallback, mirrors in flight) is read fresh for every document, and a reader cannot
// change the next document through the one it got (the routes built once are frozen).
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('routes are built once per config, their state read fresh', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const base: GatewayConfig = {
    pools: { p: { targets: [u.url] }, q: { targets: [u.url] } },
    routes: [
      { path: '/a', pool: 'p', methods: ['GET'] },
      { path: '/b', pool: 'p', canary: { pool: 'q', weight: 10 } },
    ],
  }
  let next = base
  const gw = await startGateway(base, { defaultMetrics: false, env: {}, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(async () => { await gw.close(); await u.close() })
  const status = gw.gateway.status

  const first = status()
  t.strictSame(first.routes.map((r) => [r.path, r.pool, r.canary?.weight]), [['/a', 'p', undefined], ['/b', 'p', 10]])
  // a reader that changes what it got cannot change the next document
  first.routes.push({ id: 'x', path: '/x', pool: 'p' })
  t.throws(() => { (first.routes[0] as { pool: string }).pool = 'changed' }, TypeError)
  t.strictSame(status().routes.map((r) => r.pool), ['p', 'p'])

  // a route's own state, read for each document
  const id = status().routes[1]!.id
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const set = await fetch(`${admin}/routes/${encodeURIComponent(id)}/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight: 40 }) })
  t.equal(set.status, 200)
  t.equal(status().routes[1]!.canary?.weight, 40)

  // a reload: the new routes, at once
  next = { ...base, routes: [{ path: '/c', pool: 'q', host: 'c.example' }, ...base.routes] }
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.strictSame(status().routes.map((r) => [r.path, r.pool, r.host]), [['/c', 'q', 'c.example'], ['/a', 'p', undefined], ['/b', 'p', undefined]])
  t.strictSame(status().routes.map((r) => r.id), gw.gateway.proxy.state.table.routes.map((r) => r.id), "the routing table's ids")
})
