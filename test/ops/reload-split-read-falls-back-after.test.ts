// A split read in flight at a replica when a reload takes the route's replicas away, which then falls back to the
// primary: it leaves the replicas' binding then (src/proxy/forward.ts #fallBack; it is in flight on the primary's
// from its admission), so the retired (route, replicas) series go at the render after the handover, and the read is
// counted once, under the primary, where its answer came from. A binding it never left would be kept for good.
import type { ServerResponse } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('a read held at a replica across the reload that drops the split falls back, counted once, under the primary', async (t) => {
  const held: ServerResponse[] = []
  const replica = await serveOnLoopback(t, (req, res) => {
    req.resume()
    if (req.url === '/db/slow') held.push(res)
    // closed after: the held read gets a connection of its own, whose reset is a failure (a kept-alive one's would be
    // stale, sent again to the replica)
    else res.writeHead(200, { 'content-length': '2', connection: 'close' }).end('ok')
  })
  const primary = await TestUpstream.start({ name: 'primary' })
  t.teardown(() => primary.close())
  const config = (split: boolean): GatewayConfig => ({
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url], retry: { attempts: 1 } } },
    routes: [{ name: 'db', path: '/db', pool: 'primary', ...(split ? { reads: { pool: 'replicas' } } : {}) }],
  })
  let next = config(true)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const requests = async (): Promise<Record<string, number>> => Object.fromEntries((await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => l.startsWith('switchyard_requests_total{') && l.includes('route="db"'))
    .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]))
  const REPLICAS = 'switchyard_requests_total{route="db",pool="replicas",method="GET",code="200"}'
  const PRIMARY = 'switchyard_requests_total{route="db",pool="primary",method="GET",code="200"}'

  t.equal((await httpRequest(`${gw.url}/db/warm`)).status, 200)
  const slow = httpRequest(`${gw.url}/db/slow`)
  await waitFor(() => held.length === 1)
  next = config(false)
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.strictSame(await requests(), { [REPLICAS]: 1 }, 'the replicas\' series kept while the read is in flight there')
  held[0]!.socket!.destroy() // the replica fails it: the primary serves it
  const res = await slow
  t.equal(res.status, 200)
  t.equal(res.headers['x-upstream'], 'primary')
  t.equal(held.length, 1, 'one try at the replica')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.strictSame(await requests(), { [REPLICAS]: 1, [PRIMARY]: 1 }, 'counted once, under the primary')
  t.strictSame(await requests(), { [PRIMARY]: 1 }, 'the replicas\' series gone at the next render')
})
