// A config that validation let through but the routing table or a route plan refuses (the last line of defence:
// validation now catches the case used here) must leave the running config whole. apply() used to move kept pools
// to their new targets before the route plans were built, so a rejected reload (422) still sent traffic elsewhere.
import t from 'tap'
import type { GatewayConfig, ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a reload refused while it is applied changes no pool', async (t) => {
  const [a, b, r] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' }), TestUpstream.start({ name: 'r' })])
  t.teardown(async () => { await Promise.all([a.close(), b.close(), r.close()]) })
  const config = (target: string): GatewayConfig => ({
    pools: { p: { targets: [target] }, replicas: { targets: [r.url] } },
    routes: [{ path: '/', pool: 'p' }, { path: '/reads', pool: 'p', reads: { pool: 'replicas' } }],
  })
  const refusedByPlans = (): ResolvedConfig => {
    // a resolved config as a validator that missed the cookie-path rule would have passed it (thawed to edit)
    const next = structuredClone(validateConfig(config(b.url))) as unknown as { routes: Array<{ path: string }> }
    next.routes[1]!.path = '/reads;v=1'
    return next as unknown as ResolvedConfig
  }
  const gw = await startGateway(config(a.url), { defaultMetrics: false, load: async () => refusedByPlans() })
  t.teardown(() => gw.close())
  const result = await gw.gateway.reload('admin')
  t.equal(result.result, 'error', 'refused')
  t.strictSame(gw.gateway.pools().get('p')!.pool.targets.map((target) => target.url), [a.url], 'pool p keeps its target')
  const res = await fetch(`${gw.url}/`)
  t.equal(res.status, 200)
  t.equal((await res.json() as { name: string }).name, 'a', 'and a answers')
})
