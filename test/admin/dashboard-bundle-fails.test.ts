// A dashboard whose bundle cannot be built (an image without esbuild's native binary) answers 500
// dashboard_unavailable from the error catalogue, as every admin error is, and the gateway keeps serving; the code
// was one of its own, outside the catalogue the README lists. The answer says to see the gateway log: the cause is
// logged there (it went to the admin's Fastify logger, which is off).
import t from 'tap'
import { ERRORS } from '../../src/errors.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

process.env.ESBUILD_BINARY_PATH = '/bin/false' // read by esbuild when the dashboard first bundles

t.test('a dashboard bundle that fails is 500 dashboard_unavailable, and the API still answers', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  for (const path of ['/', '/dashboard/app.js']) {
    const res = await fetch(admin + path)
    t.equal(res.status, 500, path)
    t.equal((await res.json() as { error: string }).error, 'dashboard_unavailable', path)
  }
  t.equal(ERRORS.dashboard_unavailable.status, 500)
  t.ok(gw.logs.some((l) => l.msg === 'dashboard bundle failed' && l.level === 50), 'the cause is in the gateway log')
  t.equal((await fetch(`${admin}/status`)).status, 200)
  t.equal((await fetch(`${gw.url}/x`)).status, 200)
})
