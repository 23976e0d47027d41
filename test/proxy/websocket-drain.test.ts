// Draining the target of an open WebSocket tunnel: the tunnel keeps working both ways, new tunnels and requests go
// to the other target, and /status keeps the target `draining` (not `drained`) while the tunnel is open, with the
// open tunnels counted on their own, so an operator waiting for `drained` before a redeploy never cuts a live
// tunnel by surprise (and can see why the drain is not done, and choose `disable` to cut them).
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from './http.ts'
import { portOf } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel } from './ws-tunnel.ts'

t.test('a drained target keeps its open tunnel, takes nothing new, and is drained only once the tunnel closes', async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gw = await gateway(t, { pools: { ws: { targets: [a.url, b.url] } }, routes: [{ path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const port = portOf(gw.url)

  const tunnel = await openTunnel(t, port)
  const [mine, other] = a.tunnels.size === 1 ? [a, b] : [b, a]
  t.equal(mine.tunnels.size, 1, 'the tunnel runs to one target')
  const id = `127.0.0.1:${mine.port}`
  const view = (): TargetStatusView => gw.gateway.status().pools.ws!.targets.find((x) => x.id === id)!

  const res = await fetch(`${admin}/pools/ws/targets/${encodeURIComponent(id)}/drain`, { method: 'POST' })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as { target: TargetStatusView }).target.state, 'draining', 'the drain answer says draining')
  t.match(view(), { state: 'draining', inFlight: 1, tunnels: 1 }, '/status: draining, the open tunnel counted in flight and as a tunnel')

  await tunnel.roundTrip('still open after the drain')
  mine.tunnels.values().next().value!.write('pushed by the target')
  t.equal((await new Promise<Buffer>((resolve) => tunnel.socket.once('data', resolve))).toString(), 'pushed by the target', 'the target can still send on its own')

  const hitsBefore = mine.hits
  const more = await Promise.all([1, 2, 3].map(() => openTunnel(t, port)))
  for (let i = 0; i < 4; i++) t.equal((await httpRequest(`${gw.url}/plain/${i}`)).status, 200)
  t.equal(mine.hits, hitsBefore, 'no new tunnel or request reached the draining target')
  t.equal(other.tunnels.size, 3, 'the new tunnels run to the other target')
  for (const m of more) m.socket.destroy()

  await tunnel.roundTrip('one more before it closes')
  t.equal(view().state, 'draining', 'still draining while the tunnel is open')
  tunnel.socket.destroy()
  await waitFor(() => view().state === 'drained')
  t.match(view(), { state: 'drained', inFlight: 0, tunnels: 0 }, 'drained once the tunnel closed')
  await waitFor(() => mine.tunnels.size === 0 && other.tunnels.size === 0)
  t.equal(mine.tunnels.size + other.tunnels.size, 0, "the targets' ends of every tunnel closed")
})
