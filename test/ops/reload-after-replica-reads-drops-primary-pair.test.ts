// A split read is in flight on the primary's binding too from its admission (it may fall back there): one a replica
// answers leaves it when it ends (src/proxy/forward.ts #finish). Otherwise every read a replica served would leave
// the primary's binding busy, and a reload that moves the route off the primary would keep (route, primary) for good.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { requestCounts, startReloadable } from './moved-route-fixture.ts'

t.test('reads the replica served: the primary\'s pair shows its final counts once after a move, then goes', async (t) => {
  const [primary, replica, green] = await Promise.all(['primary', 'replica', 'green'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all([primary!.close(), replica!.close(), green!.close()]))
  const config = (pool: string): GatewayConfig => ({
    pools: { primary: { targets: [primary!.url] }, replicas: { targets: [replica!.url] }, green: { targets: [green!.url] } },
    routes: [{ name: 'db', path: '/db', pool, reads: { pool: 'replicas' } }, { name: 'other', path: '/other', pool: 'primary' }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'primary')
  const primarySeries = (): Promise<Record<string, number>> => requestCounts(gw, 'db', 'primary')

  t.equal((await httpRequest(`${gw.url}/db/w`, { method: 'POST', body: 'w' })).echo().name, 'primary', 'the write at the primary')
  for (let i = 0; i < 3; i++) t.equal((await httpRequest(`${gw.url}/db/r${i}`)).echo().name, 'replica', `read ${i} at the replica`)
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal((await reloadTo('green')).result, 'success')
  t.strictSame(await primarySeries(), { 'switchyard_requests_total{route="db",pool="primary",method="POST",code="200"}': 1 }, 'its final counts once')
  t.strictSame(await primarySeries(), {}, 'then gone: the reads left it')
})
