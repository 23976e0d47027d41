// A (route, pool) binding a reload retired (a request was in flight) goes at the render after its last request:
// detached then, and forgotten for good. A later reload that puts the route back on the pool binds a fresh series
// that counts; the detached binding must not be taken back (it counts nowhere: the route's requests to that pool
// would go uncounted from then on).
import type { ServerResponse } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('moved away with a request in flight, its series gone after it, then moved back: the route counts there again', async (t) => {
  const held: ServerResponse[] = []
  const blue = await serveOnLoopback(t, (req, res) => {
    req.resume()
    if (req.url === '/api/slow') held.push(res)
    else res.writeHead(200, { 'content-length': '2' }).end('ok')
  })
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    routes: [{ name: 'api', path: '/api', pool }],
  })
  let next = config('blue')
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const blueSeries = async (): Promise<Record<string, number>> => Object.fromEntries((await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => l.startsWith('switchyard_requests_total{') && l.includes('route="api"') && l.includes('pool="blue"'))
    .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]))
  const OK = 'switchyard_requests_total{route="api",pool="blue",method="GET",code="200"}'

  const slow = httpRequest(`${gw.url}/api/slow`)
  await waitFor(() => held.length === 1)
  next = config('green')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  held[0]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await slow).status, 200)
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.strictSame(await blueSeries(), { [OK]: 1 }, 'the held request shown once')
  t.strictSame(await blueSeries(), {}, 'then the pair is gone')

  next = config('blue')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.equal((await httpRequest(`${gw.url}/api/again`)).status, 200)
  t.equal((await httpRequest(`${gw.url}/api/again`)).status, 200)
  t.strictSame(await blueSeries(), { [OK]: 2 }, 'moved back: the route\'s requests to blue are counted again (a fresh series)')
})
