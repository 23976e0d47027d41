// POST /routes/:route/canary on a route that exists but has no canary is 409 no_canary, not 404 unknown_route
// ("No route of that name" for a route the operator can see in /status).
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

t.test('a route without a canary, a route that does not exist', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ name: 'member', path: '/member', pool: 'p' }, { path: '/other', pool: 'p' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  const json = { 'content-type': 'application/json' }
  for (const [route, status, error] of [['member', 409, 'no_canary'], [encodeURIComponent('*/other'), 409, 'no_canary'], ['nope', 404, 'unknown_route']] as const) {
    const res = await adminRequest(admin, 'POST', `/routes/${route}/canary`, json, '{"weight":5}')
    t.equal(res.status, status, route)
    t.equal(res.body.error, error, route)
  }
})
