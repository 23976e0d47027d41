// A WebSocket tunnel counts in switchyard_requests_total when its 101 is written, once: before, it was counted only
// when the tunnel closed, so a tunnel open for hours was in no series while it ran. Its access-log line still comes
// at the close, with what crossed it.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { portOf } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel } from './ws-tunnel.ts'

t.test('counted at the 101, logged at the close', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { ws: { targets: [u.url] } }, routes: [{ name: 'chat', path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  const upgrades = async (): Promise<number | undefined> =>
    seriesOf(await gw.gateway.metrics!.render())[key('switchyard_requests_total', { route: 'chat', pool: 'ws', method: 'GET', code: '101' })]
  const tunnel = await openTunnel(t, portOf(gw.url))
  t.equal(await upgrades(), 1, 'counted while the tunnel is open')
  t.equal(gw.accessLogs().filter((l) => l.upgrade === true).length, 0, 'no line yet')
  tunnel.socket.destroy()
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.equal(await upgrades(), 1, 'once: not again at the close')
  t.equal(gw.accessLogs().filter((l) => l.upgrade === true)[0]!.status, 101)
})
