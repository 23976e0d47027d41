// A path the admin listener serves, asked with a method it does not take, is looked up again among the paths alone
// (src/admin/allow.ts) with the listener's own parameter limit (2,048 characters, not find-my-way's default 100):
// a route's id in /routes/:route/canary that POST takes (host, path, methods, headers: over 100 characters) is
// 405 with Allow for any other method, not 414; only a parameter over the listener's limit is 414, for every
// method alike, as a POST's is.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('a long parameter the listener takes is 405 with Allow for another method; one over its limit is 414 for all', async (t) => {
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
  const id = encodeURIComponent(gw.gateway.status().routes[0]!.id)
  t.ok(id.length > 100 && id.length <= 2048, `the id is over find-my-way's default limit: ${id.length}`)

  const post = await httpRequest(`${admin}/routes/${id}/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"weight":30}' })
  t.equal(post.status, 200, 'POST: its route takes the id')
  for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH']) {
    const res = await httpRequest(`${admin}/routes/${id}/canary`, { method })
    t.equal(res.status, 405, `${method}: a method the path does not take`)
    t.equal(res.headers.allow, 'POST, OPTIONS', `${method}: Allow`)
  }
  const options = await httpRequest(`${admin}/routes/${id}/canary`, { method: 'OPTIONS' })
  t.equal(options.status, 204)
  t.equal(options.headers.allow, 'POST, OPTIONS')
  // a target's name, as long as the listener takes, on the path of an action
  const target = `/pools/stable/targets/${'t'.repeat(2048)}/drain`
  t.equal((await httpRequest(admin + target, { method: 'POST' })).status, 404, 'POST: its route takes the name (no such target)')
  const del = await httpRequest(admin + target, { method: 'DELETE' })
  t.equal(del.status, 405, 'DELETE of the action')
  t.equal(del.headers.allow, 'POST, OPTIONS')

  // over the limit: refused by the router, whatever the method
  for (const method of ['POST', 'DELETE', 'GET', 'OPTIONS']) {
    const res = await httpRequest(`${admin}/routes/${'a'.repeat(2049)}/canary`, { method })
    t.equal(res.status, 414, `${method}: a parameter over the limit`)
    t.equal(res.headers.allow, undefined, `${method}: no Allow`)
  }
})
