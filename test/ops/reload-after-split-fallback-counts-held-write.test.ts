// A split read the primary served (it fell back: the replica failed it) is in flight on the primary's binding from
// its admission to its end (src/proxy/forward.ts: begin() at admission, none again at #fallBack), once, as every
// request counted there is. Begun twice, the primary's binding would stay busy for good after a reload moves the
// route off it (never going); begun never, it would count one fewer in flight than it has.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { heldUpstream, requestCounts, startReloadable } from './moved-route-fixture.ts'

t.test('after a read fell back to the primary, a write held there across a reload that moves the route is counted', async (t) => {
  // the primary holds /db/held-write until the test answers it, and answers the rest at once
  const { url: primaryUrl, held } = await heldUpstream(t, '/db/held-write', { 'x-upstream': 'primary' })
  // the replica fails every read (a reset before any answer): the primary serves them
  const replica = await serveOnLoopback(t, (req) => { req.socket.destroy() })
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { primary: { targets: [primaryUrl] }, replicas: { targets: [replica.url], retry: { attempts: 1 } }, green: { targets: [green.url] } },
    routes: [{ name: 'db', path: '/db', pool, reads: { pool: 'replicas' } }, { name: 'other', path: '/other', pool: 'primary' }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'primary')
  const primarySeries = (): Promise<Record<string, number>> => requestCounts(gw, 'db', 'primary')

  const read = await httpRequest(`${gw.url}/db/read`)
  t.equal(read.headers['x-upstream'], 'primary', 'the read fell back to the primary')
  const write = httpRequest(`${gw.url}/db/held-write`, { method: 'POST', body: 'w' })
  await waitFor(() => held.length === 1)
  t.equal((await reloadTo('green')).result, 'success')
  held[0]!.writeHead(201, { 'content-length': '2' }).end('ok')
  t.equal((await write).status, 201)
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.strictSame(await primarySeries(), {
    'switchyard_requests_total{route="db",pool="primary",method="GET",code="200"}': 1,
    'switchyard_requests_total{route="db",pool="primary",method="POST",code="201"}': 1,
  }, 'the fallen-back read and the write held across the reload, both counted under the primary')
  t.strictSame(await primarySeries(), {}, 'then gone')
})
