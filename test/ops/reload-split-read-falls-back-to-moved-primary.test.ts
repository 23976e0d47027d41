// A split read in flight at a replica when a reload moves the route's primary to another pool (the old primary
// staying, for another route) falls back, as it was admitted, to the old primary, which answers it. It began before
// the reload, and its line says the old primary served it: it is counted under (route, old primary), as README's
// "a blue/green move by reload loses none of the old pool's last requests" has it, not in no series at all. (The
// primary's binding, idle at the reload, was detached then: the read was in flight on the replicas' only. A forgotten
// binding idle at the reload is now kept until the next scrape, so one scrape between the reload and the fallback:
// the read is in flight on the primary's binding from its admission, which keeps it past that scrape.)
import type { ServerResponse } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { requestCounts, startReloadable } from './moved-route-fixture.ts'

t.test('a read held at a replica across a reload that moves the primary, served by the old primary, is counted there', async (t) => {
  const held: ServerResponse[] = []
  const replica = await serveOnLoopback(t, (req, res) => {
    req.resume()
    held.push(res)
  })
  const blue = await TestUpstream.start({ name: 'blue' })
  t.teardown(() => blue.close())
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (primary: string): GatewayConfig => ({
    pools: { blue: { targets: [blue.url] }, green: { targets: [green.url] }, replicas: { targets: [replica.url], retry: { attempts: 1 } } },
    routes: [{ name: 'db', path: '/db', pool: primary, reads: { pool: 'replicas' } }, { name: 'other', path: '/other', pool: 'blue' }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'blue')
  const requests = (): Promise<Record<string, number>> => requestCounts(gw, 'db')
  const BLUE = 'switchyard_requests_total{route="db",pool="blue",method="GET",code="200"}'

  const slow = httpRequest(`${gw.url}/db/slow`)
  await waitFor(() => held.length === 1)
  t.equal((await reloadTo('green')).result, 'success')
  t.strictSame(await requests(), {}, 'a scrape before it falls back: nothing of db counted yet')
  held[0]!.socket!.destroy() // the replica fails it: the primary it was admitted with serves it
  const res = await slow
  t.equal(res.status, 200)
  t.equal(res.headers['x-upstream'], 'blue', 'served by the old primary')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(gw.accessLogs().filter((l) => l.route === 'db' && l.pool === 'blue').length, 1, 'its line names the old primary')
  t.strictSame(await requests(), { [BLUE]: 1 }, 'counted once, under the old primary')
  t.strictSame(await requests(), {}, 'the old pairs gone at the next render')
})
