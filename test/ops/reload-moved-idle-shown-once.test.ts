// A route a reload moves to another pool with nothing in flight on the old one keeps its (route, old pool) series
// for one more render: the first after the reload shows its final counts (what it counted since the last scrape is
// not lost to every rate), the second has none. Another route's request in flight on the same pool keeps nothing of
// the moved route's past that render.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { heldUpstream, startReloadable } from './moved-route-fixture.ts'

t.test('moved with nothing in flight: the old pair\'s final counts are shown at the first render after the reload, then gone', async (t) => {
  const { url: blueUrl, held } = await heldUpstream(t, '/other/slow')
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { blue: { targets: [blueUrl] }, green: { targets: [green.url] } },
    routes: [{ name: 'api', path: '/api', pool }, { name: 'other', path: '/other', pool: 'blue' }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'blue')
  const series = async (route: string): Promise<string[]> => (await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => l.startsWith('switchyard_request') && l.includes(`route="${route}"`) && l.includes('pool="blue"'))

  const REQUESTS = 'switchyard_requests_total{route="api",pool="blue",method="GET",code="200"}'
  const count = (lines: string[]): number | undefined => {
    const line = lines.find((l) => l.startsWith(`${REQUESTS} `))
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  for (let i = 0; i < 3; i++) t.equal((await httpRequest(`${gw.url}/api/${i}`)).status, 200)
  t.equal(count(await series('api')), 3, 'api × blue before the reload')
  // two more after the last scrape: the first render after the reload is the only one that can show them
  for (let i = 3; i < 5; i++) t.equal((await httpRequest(`${gw.url}/api/${i}`)).status, 200)
  // another route's request held on the same pool: the pool is busy, the moved route's pair is not
  const slow = httpRequest(`${gw.url}/other/slow`)
  await waitFor(() => held.length === 1)
  t.equal((await reloadTo('green')).result, 'success')
  // was: gone at once (its two unscraped requests never exported); now kept for the one render that shows them
  t.equal(count(await series('api')), 5, 'its final counts at the first render after the reload')
  t.strictSame(await series('api'), [], 'gone at the second')
  held[0]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await slow).status, 200)
  t.ok((await series('other')).length > 0, 'the pool\'s other route keeps its series')
  t.strictSame(await series('api'), [], 'and nothing of api × blue came back')
})
