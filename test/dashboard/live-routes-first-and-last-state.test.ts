// GET /live's snapshots carry the state of every route whose state moves, by its index in the `routes` message
// (src/admin/dashboard.ts, routeState), the FIRST and the last route's too: a config whose first route is a canary
// (index 0) and whose last is a split. Put back together, the snapshot's routes are GET /status's, and a canary
// weight set on route 0 shows in the next snapshot. (live-routes-once.test.ts has moving state only at 1, 3 and 4.)
import t from 'tap'
import { toDashboardStatus } from '../../src/admin/dashboard.ts'
import type { DashboardRoute, LiveSnapshot } from '../../src/admin/dashboard/wire.ts'
import type { StatusDocument } from '../../src/admin/status-types.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { connectSse } from './sse-client.ts'

const merged = (routes: DashboardRoute[], snapshot: LiveSnapshot): DashboardRoute[] => routes.map((r, i) => snapshot.routeState[i] ?? r)

t.test('route 0 and the last route carry their moving state in every snapshot', async (t) => {
  const [u1, u2] = await Promise.all([TestUpstream.start({ name: 'u1' }), TestUpstream.start({ name: 'u2' })])
  const gw = await startGateway({
    pools: {
      a: { targets: [u1.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      b: { targets: [u2.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [
      { name: 'pay', path: '/pay', pool: 'a', canary: { pool: 'b', weight: 10 } },
      { name: 'plain', path: '/plain', pool: 'a' },
      { name: 'split', path: '/split', pool: 'a', reads: { pool: 'b' } },
    ],
  }, { defaultMetrics: false })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const client = await connectSse(`${admin}/live`)
  t.teardown(async () => {
    client.close()
    await gw.close()
    await Promise.all([u1.close(), u2.close()])
  })
  const status = async (): Promise<StatusDocument> => await (await fetch(`${admin}/status`)).json() as StatusDocument

  await client.waitFor('snapshot', 1, 10_000)
  const routes = client.of('routes')[0]!.data as DashboardRoute[]
  const first = client.of('snapshot')[0]!.data as LiveSnapshot
  t.same(Object.keys(first.routeState).map(Number), [0, 2], 'the canary (first) and the split (last)')
  t.same(merged(routes, first), toDashboardStatus(await status()).routes, "put back together: GET /status's routes")

  const put = await fetch(`${admin}/routes/pay/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight: 40 }) })
  t.equal(put.status, 200)
  await client.waitFor('snapshot', 2, 10_000)
  const moved = client.of('snapshot').at(-1)!.data as LiveSnapshot
  t.equal(moved.routeState[0]?.canary?.weight, 40, "route 0's new weight")
  t.equal(merged(routes, moved)[0]!.canary?.weight, 40)
})
