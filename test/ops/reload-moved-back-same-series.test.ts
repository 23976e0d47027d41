// A route moved off a pool while a request was in flight there, and moved back by a later reload before that request
// ended, counts on in the series it had: the retired (route, pool) binding is taken back into use, so the held
// request and the ones after the move back are counted together, each series exported once, and kept at every
// render. (Before, the first reload dropped the pair, the held request counted nowhere, and the series restarted.)
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { heldUpstream, startReloadable } from './moved-route-fixture.ts'

t.test('moved away and back while a request is held: one series, counting it and the rest', async (t) => {
  const { url: blueUrl, held } = await heldUpstream(t, '/api/slow', { 'x-upstream': 'blue' })
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { blue: { targets: [blueUrl] }, green: { targets: [green.url] } },
    routes: [{ name: 'api', path: '/api', pool }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'blue')
  const reload = async (pool: string): Promise<void> => {
    t.equal((await reloadTo(pool)).result, 'success', `moved to ${pool}`)
  }
  /** Every requests_total and duration count line of api × blue, as written. */
  const lines = async (): Promise<string[]> => (await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => (l.startsWith('switchyard_requests_total{') || l.startsWith('switchyard_request_duration_seconds_count{')) && l.includes('route="api"') && l.includes('pool="blue"'))

  t.equal((await httpRequest(`${gw.url}/api/fast`)).status, 200)
  const slow = httpRequest(`${gw.url}/api/slow`)
  await waitFor(() => held.length === 1)
  await reload('green')
  t.equal((await httpRequest(`${gw.url}/api/on-green`)).headers['x-upstream'], 'green')
  await reload('blue')
  t.equal((await httpRequest(`${gw.url}/api/back`)).headers['x-upstream'], 'blue', 'back on blue')
  held[0]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await slow).status, 200)
  await waitFor(() => gw.gateway.proxy.active === 0)

  const expected = [
    'switchyard_requests_total{route="api",pool="blue",method="GET",code="200"} 3',
    'switchyard_request_duration_seconds_count{route="api",pool="blue"} 3',
  ]
  t.strictSame(await lines(), expected, 'each series once, with the held request and the ones before and after')
  t.strictSame(await lines(), expected, 'kept at the next render: the route sends there again')
  t.equal((await httpRequest(`${gw.url}/api/more`)).status, 200)
  t.strictSame(await lines(), expected.map((l) => l.replace(/ 3$/, ' 4')), 'and counting on')
})
