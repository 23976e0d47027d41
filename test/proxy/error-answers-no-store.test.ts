// The gateway's own error answers say `Cache-Control: no-store`. A 404 or a 400 is cacheable by default
// (RFC 9111 §4.2.2, heuristic freshness), so a CDN or shared cache in front of the gateway could otherwise keep
// serving "no_route" for a path after the route was added by a reload, or a refusal meant for one request to others.
// Both ways an error is written are pinned: through the proxy's reply (no_route) and raw on the socket (bad_path).
import t from 'tap'
import { httpRequest } from './http.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, upstream } from './setup.ts'

t.test('gateway error answers are not cacheable', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })
  const noRoute = await httpRequest(gw.url + '/nope')
  t.equal(noRoute.status, 404)
  t.equal(noRoute.headers['cache-control'], 'no-store', '404 no_route says no-store')
  const badPath = await rawRequest(portOf(gw.url), 'GET /api/%2e%2e/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.equal(badPath.status, 400)
  t.equal(badPath.headers['cache-control'], 'no-store', '400 bad_path says no-store')
  t.equal(u.hits, 0)
})
