// A replica pool read by several routes takes the strictest of their maxLagMs (app.ts, stateFor).
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('the strictest maxLagMs of the routes reading from a pool is the one applied', async (t) => {
  const [primary, r1, r2] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'r1' }), TestUpstream.start({ name: 'r2' })])
  t.teardown(() => Promise.all([primary.close(), r1.close(), r2.close()]))
  const healthCheck = { path: '/health', intervalMs: 200, timeoutMs: 200, healthyThreshold: 1, unhealthyThreshold: 2 }
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: {
      primary: { targets: [primary.url] },
      replicas: { targets: [r1.url, r2.url], healthCheck },
    },
    routes: [
      { path: '/a', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } },
      { path: '/b', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 500 } },
    ],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready')
  const replicas = gw.gateway.pools().get('replicas')!
  const [t1, t2] = [r1, r2].map((u) => replicas.pool.targets.find((x) => x.url === u.url)!)
  r1.healthHeaders = { 'x-replication-lag-ms': '700' } // above 500, below 1000
  r2.healthHeaders = { 'x-replication-lag-ms': '300' }
  await waitFor(() => replicas.pool.state(t1!) === 'lagging')
  await waitFor(() => replicas.health?.lastResult(t2!)?.lagMs === 300)
  t.equal(replicas.pool.state(t2!), 'healthy', 'below both limits: in')
})

// The same, with every lag known: a replica reporting a lag between the two limits is out (the strictest applies),
// not only one whose lag is not heard yet (unknown lag is lagging under any limit).
t.test('a reported lag between the two routes\' limits takes the replica out', async (t) => {
  const [primary, r1, r2] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'r1' }), TestUpstream.start({ name: 'r2' })])
  t.teardown(() => Promise.all([primary.close(), r1.close(), r2.close()]))
  r1.healthHeaders = { 'x-replication-lag-ms': '700' } // above 500, below 1000
  r2.healthHeaders = { 'x-replication-lag-ms': '300' }
  const healthCheck = { path: '/health', intervalMs: 200, timeoutMs: 200, healthyThreshold: 1, unhealthyThreshold: 2 }
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: {
      primary: { targets: [primary.url] },
      replicas: { targets: [r1.url, r2.url], healthCheck },
    },
    routes: [
      { path: '/b', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 500 } },
      { path: '/a', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } },
    ],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready')
  const replicas = gw.gateway.pools().get('replicas')!
  const [t1, t2] = [r1, r2].map((u) => replicas.pool.targets.find((x) => x.url === u.url)!)
  await waitFor(() => replicas.health?.lastResult(t1!)?.lagMs === 700 && replicas.health?.lastResult(t2!)?.lagMs === 300)
  t.equal(replicas.pool.state(t1!), 'lagging', '700 ms: above the stricter limit, out')
  t.equal(replicas.pool.state(t2!), 'healthy', '300 ms: below both, in')
})
