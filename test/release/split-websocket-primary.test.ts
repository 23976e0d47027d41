// A WebSocket upgrade on a read/write split route goes where the route's writes go (its pool, or the canary's by
// the canary decision), never to a replica: a tunnel is a session, not a read (what it carries may write, which a
// read-only replica refuses), and a tunnel that stays open for hours on a replica would escape maxLagMs, which only
// judges new picks. Before, an upgrade (a GET) went to a replica and, unlike a GET, failed with 502 when that
// replica refused, with no fallback to the primary.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { rawHandshake } from '../proxy/raw.ts'
import { wsHandshake } from '../proxy/ws-tunnel.ts'

t.test('upgrades on a split route go to the primary, whatever the replicas do; reads still go to the replicas', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)
  const upgrade = async (id: string): Promise<{ status: number; upstream: string | undefined }> => {
    const { response, socket } = await rawHandshake(port, wsHandshake('/m/ws', id))
    socket.destroy()
    return { status: response.status, upstream: response.headers['x-upstream'] }
  }
  t.equal((await httpRequest(`${gw.url}/m/1`)).echo().name, 'replica', 'a read goes to the replica')
  t.strictSame(await upgrade('ws-1'), { status: 101, upstream: 'primary' }, 'an upgrade to the primary')
  t.equal(replica.requests.filter((r) => r.url === '/m/ws').length, 0, 'the replica never saw it')
  await replica.refuse()
  t.strictSame(await upgrade('ws-2'), { status: 101, upstream: 'primary' }, 'a refusing replica changes nothing')
  t.equal(gw.gateway.status().routes[0]!.reads?.fallback, false, 'an upgrade is no read: no fallback is said')
})
