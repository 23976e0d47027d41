// A route a reload moves to another pool with nothing in flight on the old one drops its (route, old pool) series at
// once, at the first render after the reload, as before requests in flight were tracked: only a pair with a request
// still to count is kept (until the render that shows it). Another route's request in flight on the same pool keeps
// nothing of the moved route's.
import type { ServerResponse } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('moved with nothing in flight: the old pair\'s series are gone at the first render after the reload', async (t) => {
  const held: ServerResponse[] = []
  const blue = await serveOnLoopback(t, (req, res) => {
    req.resume()
    if (req.url === '/other/slow') held.push(res)
    else res.writeHead(200, { 'content-length': '2' }).end('ok')
  })
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    routes: [{ name: 'api', path: '/api', pool }, { name: 'other', path: '/other', pool: 'blue' }],
  })
  let next = config('blue')
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const series = async (route: string): Promise<string[]> => (await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => l.startsWith('switchyard_request') && l.includes(`route="${route}"`) && l.includes('pool="blue"'))

  for (let i = 0; i < 3; i++) t.equal((await httpRequest(`${gw.url}/api/${i}`)).status, 200)
  // another route's request held on the same pool: the pool is busy, the moved route's pair is not
  const slow = httpRequest(`${gw.url}/other/slow`)
  await waitFor(() => held.length === 1)
  t.ok((await series('api')).length > 0, 'api × blue before the reload')
  next = config('green')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.strictSame(await series('api'), [], 'gone at the first render after the reload')
  held[0]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await slow).status, 200)
  t.ok((await series('other')).length > 0, 'the pool\'s other route keeps its series')
  t.strictSame(await series('api'), [], 'and nothing of api × blue came back')
})
