// POST /pools/:pool/targets/:target/:action knows three actions (drain, enable, disable); a name an object inherits
// (toString, constructor, __proto__, hasOwnProperty) is no action: 404 not_found, the target's state unchanged.
// Looked up as a plain property, such a name would be taken as a change and answered 200 as if it had acted.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

t.test("names of Object.prototype's members are not target actions", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  const before = gw.gateway.status().pools
  for (const action of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
    const res = await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(`127.0.0.1:${u.port}`)}/${action}`)
    t.equal(res.status, 404, action)
    t.equal(res.body.error, 'not_found', action)
  }
  t.strictSame(gw.gateway.status().pools, before, 'nothing changed')
})
