// A reload that rebuilds a lag-limited replica pool (here: another health-check interval) judges each replica by the
// lag it last reported to the replaced pool's checks, at once: the replica in sync keeps taking reads and the one
// behind stays out, with no event. Without it, a replica whose lag is not known yet is lagging (fail closed), so
// every replica would be out until its first probe, and the reads would fall back to the primary meanwhile.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a rebuilt lag-limited pool keeps what its replicas last reported', async (t) => {
  const [primary, inSync, behind] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'in-sync' }), TestUpstream.start({ name: 'behind' })])
  t.teardown(() => Promise.all([primary.close(), inSync.close(), behind.close()]))
  inSync.healthHeaders = { 'x-replication-lag-ms': '10' }
  behind.healthHeaders = { 'x-replication-lag-ms': '5000' }
  const config = (intervalMs: number): GatewayConfig => ({
    secret: 'a-secret-of-16-chars',
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [inSync.url, behind.url], healthCheck: { path: '/health', intervalMs, timeoutMs: 100 } } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
  })
  let next = config(1000)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const states = (): string => gw.gateway.status().pools.replicas!.targets.map((x) => x.state).join(',')
  await waitFor(() => states() === 'healthy,lagging')
  const before = gw.gateway.events.list().length
  next = config(2000)
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(states(), 'healthy,lagging', 'judged at once from the lag carried over')
  t.strictSame(gw.gateway.events.list().slice(before).filter((e) => e.kind !== 'reload').map((e) => e.message), [], 'no lagging and caught-up events, no fallback')
})
