// A replica pool read by several routes takes the strictest of their maxLagMs (app.ts, stateFor), whichever route
// comes first: a replica reporting a lag between the two limits is out, not only one whose lag is not heard yet
// (unknown lag is lagging under any limit).
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** Two routes reading from one replica pool (r1 reports 700 ms of lag, r2 300 ms), with limits in this order. */
async function readFromReplicas (t: Tap, limits: readonly [number, number]) {
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
    routes: limits.map((maxLagMs, i) => ({ path: `/r${i}`, pool: 'primary', reads: { pool: 'replicas', maxLagMs } })),
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready')
  const replicas = gw.gateway.pools().get('replicas')!
  const [t1, t2] = [r1, r2].map((u) => replicas.pool.targets.find((x) => x.url === u.url)!)
  await waitFor(() => replicas.health?.lastResult(t1!)?.lagMs === 700 && replicas.health?.lastResult(t2!)?.lagMs === 300)
  return { state: (target: typeof t1) => replicas.pool.state(target!), t1, t2 }
}

for (const limits of [[1000, 500], [500, 1000]] as const) {
  t.test(`limits ${limits.join(' then ')}: a reported lag between them takes the replica out`, async (t) => {
    const { state, t1, t2 } = await readFromReplicas(t, limits)
    t.equal(state(t1), 'lagging', '700 ms: above the stricter limit, out')
    t.equal(state(t2), 'healthy', '300 ms: below both, in')
  })
}
