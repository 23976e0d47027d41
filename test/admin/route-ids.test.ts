// Every route in /status carries its id (unique, where path alone is not); an unnamed route's canary is addressed
// by that id, named ones by their name.
import t from 'tap'
import type { StatusDocument } from '../../src/admin/status-types.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('/status routes carry unique ids; POST /routes/:id/canary reaches an unnamed route', async (t) => {
  const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, v2: { targets: [canary.url] } },
    routes: [
      { path: '/c', pool: 'stable', headers: { 'x-beta': '1' }, canary: { pool: 'v2', weight: 0 } },
      { path: '/c', pool: 'stable', canary: { pool: 'v2', weight: 0 } },
      { name: 'named', path: '/n', pool: 'stable', canary: { pool: 'v2', weight: 0 } },
    ],
  }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await stable.close(); await canary.close() })

  const status = async (): Promise<StatusDocument> => await (await fetch(`${admin}/status`)).json() as StatusDocument
  const routes = (await status()).routes
  const ids = routes.map((r) => r.id)
  t.ok(ids.every((id) => typeof id === 'string' && id !== ''), 'every route has an id')
  t.equal(new Set(ids).size, 3, 'unique, also for two routes on one path')
  t.equal(routes[1]!.id, '*/c', 'host, path (and methods, headers when set)')

  const setWeight = (route: string, weight: number) => fetch(`${admin}/routes/${encodeURIComponent(route)}/canary`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight }),
  })
  t.equal((await setWeight(routes[1]!.id, 25)).status, 200, 'the unnamed route, by its id')
  t.equal((await setWeight(routes[0]!.id, 50)).status, 200, 'the one narrowed by a header, by its id')
  t.equal((await setWeight(routes[2]!.name!, 75)).status, 200, 'a named route, by its name')
  t.strictSame((await status()).routes.map((r) => r.canary?.weight), [50, 25, 75], 'each set on its own route')
})
