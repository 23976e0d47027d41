// GET /readyz is 503 while overload protection refuses requests (here: RSS above server.maxRssBytes), even though
// the gateway has started and is not draining: a load balancer must stop sending a gateway that answers every new
// request 503 overloaded, and send it again once the overload is over.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

t.test('an overloaded gateway is not ready', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ server: { maxRssBytes: 1 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  let res = await adminRequest(admin, 'GET', '/readyz')
  await waitFor(async () => (res = await adminRequest(admin, 'GET', '/readyz')).body.overloaded === true)
  t.equal(res.status, 503)
  t.same(res.body, { ready: false, readiness: 'ready', overloaded: true })
})

// Each limit is watched alone: a gateway given only server.maxHeapUsedBytes (no event-loop delay, no RSS limit)
// refuses as overloaded too, or a limit an operator set would silently judge nothing.
t.test('a heap limit alone is watched', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ server: { maxHeapUsedBytes: 1 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  let res = await adminRequest(admin, 'GET', '/readyz')
  await waitFor(async () => (res = await adminRequest(admin, 'GET', '/readyz')).body.overloaded === true)
  t.equal(res.status, 503)
  const proxied = await fetch(`${gw.url}/x`)
  t.equal(proxied.status, 503, 'requests are refused')
  t.equal(((await proxied.json()) as { error: string }).error, 'overloaded')
})
