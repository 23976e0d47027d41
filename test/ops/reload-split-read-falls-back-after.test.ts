// A split read in flight at a replica when a reload takes the route's replicas away, which then falls back to the
// primary: it leaves the replicas' binding then (src/proxy/forward.ts #fallBack; it is in flight on the primary's
// from its admission), so the retired (route, replicas) series go at the render after the handover, and the read is
// counted once, under the primary, where its answer came from. A binding it never left would be kept for good.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { heldUpstream, requestCounts, startReloadable } from './moved-route-fixture.ts'

t.test('a read held at a replica across the reload that drops the split falls back, counted once, under the primary', async (t) => {
  // the others closed after: the held read gets a connection of its own, whose reset is a failure (a kept-alive one's
  // would be stale, sent again to the replica)
  const { url: replicaUrl, held } = await heldUpstream(t, '/db/slow', { connection: 'close' })
  const primary = await TestUpstream.start({ name: 'primary' })
  t.teardown(() => primary.close())
  const config = (split: boolean): GatewayConfig => ({
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replicaUrl], retry: { attempts: 1 } } },
    routes: [{ name: 'db', path: '/db', pool: 'primary', ...(split ? { reads: { pool: 'replicas' } } : {}) }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, true)
  const requests = (): Promise<Record<string, number>> => requestCounts(gw, 'db')
  const REPLICAS = 'switchyard_requests_total{route="db",pool="replicas",method="GET",code="200"}'
  const PRIMARY = 'switchyard_requests_total{route="db",pool="primary",method="GET",code="200"}'

  t.equal((await httpRequest(`${gw.url}/db/warm`)).status, 200)
  const slow = httpRequest(`${gw.url}/db/slow`)
  await waitFor(() => held.length === 1)
  t.equal((await reloadTo(false)).result, 'success')
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
