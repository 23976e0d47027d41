// A request in flight when a reload moves its route to another pool (the old pool staying) is counted under the
// (route, old pool) series it began on: requests_total and the duration histogram include it, and those series go
// only at the /metrics render after the one that showed it. Before, the reload detached the pair at once and the
// old pool's last requests (often the slow ones) were in no series, though their access-log lines were written.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { heldUpstream, startReloadable } from './moved-route-fixture.ts'

t.test('a request held at the old pool across the reload is counted in the old pair\'s series, which then go', async (t) => {
  // blue answers at once, or holds /slow until the test releases it
  const { url: blueUrl, held } = await heldUpstream(t, '/api/slow')
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { blue: { targets: [blueUrl] }, green: { targets: [green.url] } },
    routes: [{ name: 'api', path: '/api', pool }, { name: 'other', path: '/other', pool: 'blue' }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'blue')
  const pair = async (pool: string): Promise<Record<string, number>> => Object.fromEntries((await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => l.startsWith('switchyard_request') && !l.includes('_bucket') && l.includes('route="api"') && l.includes(`pool="${pool}"`))
    .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]))

  t.equal((await httpRequest(`${gw.url}/api/fast`)).status, 200)
  const slow = httpRequest(`${gw.url}/api/slow`)
  await waitFor(() => held.length === 1)
  t.equal((await reloadTo('green')).result, 'success')
  t.equal((await httpRequest(`${gw.url}/api/after`)).headers['x-upstream'], 'green', 'new requests go to green')
  t.equal((await pair('blue'))['switchyard_requests_total{route="api",pool="blue",method="GET",code="200"}'], 1, 'blue\'s series exported while its request is in flight')

  held[0]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await slow).status, 200)
  await waitFor(() => gw.gateway.proxy.active === 0)
  const last = await pair('blue')
  t.equal(last['switchyard_requests_total{route="api",pool="blue",method="GET",code="200"}'], 2, 'the request held across the reload is counted')
  t.equal(last['switchyard_request_duration_seconds_count{route="api",pool="blue"}'], 2, 'and in the duration histogram')
  t.strictSame(await pair('blue'), {}, 'the old pair\'s series are gone at the next render')
  t.equal((await pair('green'))['switchyard_requests_total{route="api",pool="green",method="GET",code="200"}'], 1, 'green counts its own')
  t.equal(gw.accessLogs().filter((l) => l.route === 'api').length, 3, 'one line per request, as counted')
})
