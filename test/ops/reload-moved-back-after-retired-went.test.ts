// A (route, pool) binding a reload retired (a request was in flight) goes at the render after its last request:
// detached then, and forgotten for good. A later reload that puts the route back on the pool binds a fresh series
// that counts; the detached binding must not be taken back (it counts nowhere: the route's requests to that pool
// would go uncounted from then on).
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { heldUpstream, requestCounts, startReloadable } from './moved-route-fixture.ts'

t.test('moved away with a request in flight, its series gone after it, then moved back: the route counts there again', async (t) => {
  const { url: blueUrl, held } = await heldUpstream(t, '/api/slow')
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { blue: { targets: [blueUrl] }, green: { targets: [green.url] } },
    routes: [{ name: 'api', path: '/api', pool }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'blue')
  const blueSeries = (): Promise<Record<string, number>> => requestCounts(gw, 'api', 'blue')
  const OK = 'switchyard_requests_total{route="api",pool="blue",method="GET",code="200"}'

  const slow = httpRequest(`${gw.url}/api/slow`)
  await waitFor(() => held.length === 1)
  t.equal((await reloadTo('green')).result, 'success')
  held[0]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await slow).status, 200)
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.strictSame(await blueSeries(), { [OK]: 1 }, 'the held request shown once')
  t.strictSame(await blueSeries(), {}, 'then the pair is gone')

  t.equal((await reloadTo('blue')).result, 'success')
  t.equal((await httpRequest(`${gw.url}/api/again`)).status, 200)
  t.equal((await httpRequest(`${gw.url}/api/again`)).status, 200)
  t.strictSame(await blueSeries(), { [OK]: 2 }, 'moved back: the route\'s requests to blue are counted again (a fresh series)')
})
