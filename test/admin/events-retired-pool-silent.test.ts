// A pool a reload rebuilt is retired: what still happens to its old runtime (a removed copy's status changing as it
// winds down) is not news of the pool in force, and the feed records none of it. Otherwise the feed's last word on
// the pool could be "target disabled" or "target unhealthy" about a target the running pool has healthy.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'

t.test('a status change on a rebuilt pool\'s old runtime: no event', async (t) => {
  // never contacted; no health checks
  const config = (balancer: 'round-robin' | 'least-connections'): GatewayConfig => ({
    pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], balancer } },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next: unknown = config('round-robin')
  const gw = await startGateway(config('round-robin'), { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const old = gw.gateway.pools().get('p')!
  const target = old.pool.targets[0]!
  next = config('least-connections')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.not(gw.gateway.pools().get('p'), old, 'rebuilt')
  const before = gw.gateway.events.list().length
  old.pool.setStatus(target, { disabled: true })
  t.equal(gw.gateway.events.list().length, before, 'nothing recorded')
})
