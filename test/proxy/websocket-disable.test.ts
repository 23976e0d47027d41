// Disabling the target of open WebSocket tunnels closes them, both sides, at once (HAProxy's `shutdown sessions`,
// as an operator's explicit action): disable is "out at once", drain is "let what is open finish" (see
// websocket-drain.test.ts). The other target's tunnels are untouched, nothing new goes to the disabled one, and
// enable brings it back.
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import { waitFor } from '../helpers/gateway.ts'
import { portOf } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel, type Tunnel } from './ws-tunnel.ts'

t.test('disable closes the open tunnels to the target, both sides, and leaves the other target\'s alone', async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gw = await gateway(t, { pools: { ws: { targets: [a.url, b.url] } }, routes: [{ path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const port = portOf(gw.url)
  const act = async (action: string): Promise<TargetStatusView> => {
    const res = await fetch(`${admin}/pools/ws/targets/${encodeURIComponent(`127.0.0.1:${a.port}`)}/${action}`, { method: 'POST' })
    t.equal(res.status, 200, action)
    return ((await res.json()) as { target: TargetStatusView }).target
  }

  // round robin: two tunnels to each target, told apart by which upstream saw their request id
  const tunnels = await Promise.all([1, 2, 3, 4].map(() => openTunnel(t, port)))
  const onA = (x: Tunnel): boolean => a.requests.some((r) => r.headers['x-request-id'] === x.requestId)
  const toA = tunnels.filter(onA)
  const toB = tunnels.filter((x) => !onA(x))
  t.equal(toA.length, 2)
  t.equal(a.tunnels.size, 2)

  const disabled = await act('disable')
  t.equal(disabled.state, 'disabled')
  await waitFor(() => toA.every((x) => x.isClosed()))
  t.pass("the clients' sides of the disabled target's tunnels are closed")
  await waitFor(() => a.tunnels.size === 0)
  t.equal(a.tunnels.size, 0, "and the target's sides")
  t.match(gw.gateway.status().pools.ws!.targets.find((x) => x.id === disabled.id), { state: 'disabled', inFlight: 0, tunnels: 0 })
  for (const x of toB) await x.roundTrip('the other target is untouched')
  t.equal(b.tunnels.size, 2)
  await waitFor(() => toA.every((x) => gw.accessLogs().some((l) => l.requestId === x.requestId)))
  t.strictSame(toA.map((x) => gw.accessLogs().find((l) => l.requestId === x.requestId)!.status), [101, 101], 'each cut tunnel has its access-log line')

  const hitsBefore = a.hits
  const more = await Promise.all([1, 2].map(() => openTunnel(t, port)))
  t.equal(a.hits, hitsBefore, 'no new tunnel goes to the disabled target')
  t.equal(b.tunnels.size, 4)

  t.equal((await act('enable')).state, 'healthy')
  await Promise.all([1, 2].map(() => openTunnel(t, port)))
  t.equal(a.tunnels.size, 1, 'enabled: it takes new tunnels again')
  for (const x of [...toB, ...more]) await x.roundTrip()
})
