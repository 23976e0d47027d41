// A request that comes back to the gateway instance is refused 508 loop_detected before it is routed
// (src/proxy/front.ts): the pass that finds it (the third) need not match any route. A route that strips its prefix
// and whose pool points back at the gateway sends '/api/api/x' round as '/api/x', then as '/x', which no route serves:
// that is still the loop, and it is the loop the client and the access log are told of, not a 404 no_route that
// would send the operator to the route table instead of the pool that points at the gateway.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a looped request whose third pass matches no route: 508 loop_detected, not 404 no_route', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const base = { log: { level: 'info' }, pools: { self: { targets: [u.url], retry: { attempts: 1 } } }, routes: [{ path: '/api', pool: 'self', stripPrefix: true }] }
  let selfUrl = ''
  const gw = await startGateway(base as GatewayConfig, {
    defaultMetrics: false,
    // a reload points the pool at the gateway's own port (known once it listens)
    load: async () => validateConfig({ ...base, pools: { self: { ...base.pools.self, targets: [selfUrl] } } }),
  })
  t.teardown(() => gw.close())
  selfUrl = gw.url
  t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
  const res = await fetch(`${gw.url}/api/api/x`)
  const body = await res.json() as { error: string }
  t.equal(res.status, 508)
  t.equal(body.error, 'loop_detected')
  const lines = gw.accessLogs()
  t.equal(lines.length, 3, 'three passes through the gateway')
  t.match(lines.find((l) => l.route === undefined), { status: 508, error: 'loop_detected', path: '/x' }, 'the third pass is refused as a loop')
  t.equal(u.requests.length, 0)
})
