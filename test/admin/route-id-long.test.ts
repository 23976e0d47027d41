// A route's id can be long (host, path, methods, headers): POST /routes/:route/canary takes it whole, where the
// router's default of 100 characters per parameter answered 414 with Fastify's own error. What the router itself
// refuses (a parameter over its limit, bad percent-encoding) is answered from the catalogue and logged.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

t.test('a long route id names its route; router refusals come from the catalogue', async (t) => {
  const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, canary: { targets: [canary.url] } },
    routes: [{
      path: '/api/v1/organisations/orders/line-items',
      host: 'api.eu-west-1.example.com',
      methods: ['PUT', 'GET', 'POST', 'PATCH', 'DELETE'],
      headers: { 'x-tenant': 'acme' },
      pool: 'stable',
      canary: { pool: 'canary', weight: 0 },
    }],
  }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await stable.close(); await canary.close() })
  const id = gw.gateway.status().routes[0]!.id
  t.ok(encodeURIComponent(id).length > 100, `the id is long: ${id}`)
  const set = await adminRequest(admin, 'POST', `/routes/${encodeURIComponent(id)}/canary`, { 'content-type': 'application/json' }, '{"weight":30}')
  t.equal(set.status, 200)
  t.equal(gw.gateway.status().routes[0]!.canary!.weight, 30)

  const tooLong = await adminRequest(admin, 'POST', `/routes/${'a'.repeat(3000)}/canary`, { 'content-type': 'application/json' }, '{"weight":30}')
  t.equal(tooLong.status, 414)
  t.equal(tooLong.body.error, 'uri_too_long')
  const badEscape = await adminRequest(admin, 'POST', '/pools/%E0%A4%A/targets/x/drain')
  t.equal(badEscape.status, 400)
  t.equal(badEscape.body.error, 'bad_request')
  const logged = gw.logs.filter((l) => l.msg === 'admin call').map((l) => l.status)
  t.same(logged, [200, 414, 400], 'every POST logged, router refusals too')
})
