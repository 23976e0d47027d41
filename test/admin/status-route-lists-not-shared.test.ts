// What one reader of gateway.status() does to a route's methods or headers cannot reach the next document, nor
// GET /status: the routes built once per config (src/admin/status.ts describedRoutes) are frozen, but the lists inside
// them are not, and a canary or mirror route's copy shares them. (Before the routes were built once, every document
// had its own copies.)
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test("a reader's change to a route's methods or headers reaches neither the next document nor GET /status", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({
    pools: { p: { targets: [u.url] }, q: { targets: [u.url] } },
    routes: [
      { path: '/a', pool: 'p', methods: ['GET'], headers: { 'x-v': '1' } },
      { path: '/b', pool: 'p', methods: ['GET'], headers: { 'x-v': '1' }, canary: { pool: 'q', weight: 10 } },
    ],
  }, { defaultMetrics: false, env: {} })
  t.teardown(async () => { await gw.close(); await u.close() })
  const doc = gw.gateway.status()
  for (const route of doc.routes) {
    try { route.methods?.push('DELETE') } catch {}
    try { if (route.headers !== undefined) route.headers['x-v'] = 'changed' } catch {}
  }
  const expected = [{ methods: ['GET'], headers: { 'x-v': '1' } }, { methods: ['GET'], headers: { 'x-v': '1' } }]
  t.strictSame(gw.gateway.status().routes.map((r) => ({ methods: r.methods, headers: r.headers })), expected, 'the next document')
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${admin}/status`)
  t.equal(res.status, 200)
  const body = await res.json() as { routes: { methods?: string[]; headers?: Record<string, string> }[] }
  t.strictSame(body.routes.map((r) => ({ methods: r.methods, headers: r.headers })), expected, 'GET /status')
})
