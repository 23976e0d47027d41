// GET /live sends the routes in a message of their own, once per connection and again only after a reload that
// changed them; each snapshot carries just the routes whose state moves (split, canary, mirror), by index. Put
// back together, a snapshot's routes are GET /status's (as the dashboard draws them). At 5,000 routes the routes
// were 340 KB of every snapshot, twice a second per watcher.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { toDashboardStatus } from '../../src/admin/dashboard.ts'
import type { DashboardRoute, LiveSnapshot } from '../../src/admin/dashboard/wire.ts'
import type { StatusDocument } from '../../src/admin/status-types.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { connectSse, type SseClient } from './sse-client.ts'

const config = (extra: GatewayConfig['routes']): GatewayConfig => ({
  pools: {
    a: { targets: [] as string[], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    b: { targets: [] as string[], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
  },
  routes: [
    { path: '/plain', pool: 'a' },
    { name: 'pay', path: '/pay', pool: 'a', canary: { pool: 'b', weight: 10 } },
    { path: '/plain-too', pool: 'b', methods: ['GET'] },
    { path: '/split', pool: 'a', reads: { pool: 'b' } },
    { path: '/shadowed', pool: 'a', mirror: { pool: 'b', percent: 5 } },
    ...extra,
  ],
})

/** The snapshot's routes as the page puts them back together. */
const merged = (routes: DashboardRoute[], snapshot: LiveSnapshot): DashboardRoute[] => routes.map((r, i) => snapshot.routeState[i] ?? r)
/** The kinds of frames after the first `skip`, heartbeats and retry hints left out. */
const kinds = (client: SseClient, skip = 0): string[] => client.frames.slice(skip).map((f) => f.kind).filter((k) => k !== 'comment' && k !== 'retry')

t.test('routes go once per connection and after a reload that changed them; snapshots carry only their moving state', async (t) => {
  const [u1, u2] = await Promise.all([TestUpstream.start({ name: 'u1' }), TestUpstream.start({ name: 'u2' })])
  const withTargets = (c: GatewayConfig): GatewayConfig => {
    c.pools.a!.targets = [u1.url]
    c.pools.b!.targets = [u2.url]
    return c
  }
  let next = withTargets(config([]))
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const clients: SseClient[] = []
  t.teardown(async () => {
    for (const c of clients) c.close()
    await gw.close()
    await Promise.all([u1.close(), u2.close()])
  })
  const watch = async (): Promise<SseClient> => {
    const client = await connectSse(`${admin}/live`)
    clients.push(client)
    return client
  }
  const status = async (): Promise<StatusDocument> => await (await fetch(`${admin}/status`)).json() as StatusDocument

  const first = await watch()
  await first.waitFor('snapshot', 2, 10_000)
  t.same(kinds(first), ['backlog', 'routes', 'snapshot', 'snapshot'], 'the routes once, before the first snapshot')
  const routes = first.of('routes')[0]!.data as DashboardRoute[]
  t.equal(routes.length, 5)
  const expected = toDashboardStatus(await status()).routes
  for (const frame of first.of('snapshot')) {
    const snapshot = frame.data as LiveSnapshot
    t.same(Object.keys(snapshot.routeState).map(Number), [1, 3, 4], 'only the canary, split and mirror routes')
    t.notOk('routes' in snapshot.status, 'the status but its routes')
    t.same(merged(routes, snapshot), expected, 'put back together: what GET /status says, as the dashboard draws it')
  }

  // a canary weight moves: the next snapshot says so through its state, and no routes message goes again
  const seen = first.frames.length
  const put = await fetch(`${admin}/routes/pay/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight: 40 }) })
  t.equal(put.status, 200)
  await first.waitFor('snapshot', 3, 10_000)
  const moved = first.of('snapshot').at(-1)!.data as LiveSnapshot
  t.equal(moved.routeState[1]!.canary!.weight, 40)
  t.notOk(kinds(first, seen).includes('routes'), 'no routes message for a change of state')

  // a second watcher gets the routes too, the same list
  const second = await watch()
  await second.waitFor('snapshot', 1, 10_000)
  t.same(kinds(second).slice(0, 3), ['backlog', 'routes', 'snapshot'])
  t.same(second.of('routes')[0]!.data, routes)

  // a reload of the same config sends none
  const beforeSame = first.frames.length
  t.equal((await gw.gateway.reload()).result, 'unchanged')
  const snapshotsBefore = first.of('snapshot').length
  await first.waitFor('snapshot', snapshotsBefore + 1, 10_000)
  t.notOk(kinds(first, beforeSame).includes('routes'), 'an unchanged config: no routes message')

  // a reload that adds a route: its routes message comes before the next snapshot, to every watcher
  const beforeAdd = [first.frames.length, second.frames.length]
  next = withTargets(config([{ path: '/added', pool: 'b' }]))
  t.equal((await gw.gateway.reload()).result, 'success')
  const after = toDashboardStatus(await status()).routes
  for (const [i, client] of [first, second].entries()) {
    const newKinds = (): string[] => kinds(client, beforeAdd[i])
    await waitFor(() => newKinds().indexOf('snapshot', newKinds().indexOf('routes')) > 0, 10_000)
    t.equal(newKinds().filter((k) => k === 'routes').length, 1, 'one routes message')
    t.equal(newKinds()[newKinds().indexOf('routes') + 1], 'snapshot', 'the routes message, then the snapshot built over it')
    const list = client.of('routes').at(-1)!.data as DashboardRoute[]
    t.equal(list.length, 6)
    t.same(list.at(-1)!.path, '/added')
    const latest = client.of('snapshot').at(-1)!.data as LiveSnapshot
    // the canary weight an operator set is the config's again after the reload, unless kept: compare with /status
    t.same(merged(list, latest).map((r) => r.path), after.map((r) => r.path), 'every route, the new one too')
  }
})
