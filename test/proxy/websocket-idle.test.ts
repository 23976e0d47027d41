// An open WebSocket tunnel that carries no byte either way for timeouts.tunnelIdleMs is closed by the gateway
// (HAProxy's `timeout tunnel`): both ends are closed, the target's slot is released, and the access-log line says
// why. Bytes in either direction keep it open. The gateway runs on a manual clock: nothing here waits for the timeout.
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { portOf } from './raw.ts'
import { gateway, upstream, type Tap } from './setup.ts'
import { openTunnel, type Tunnel } from './ws-tunnel.ts'

const IDLE_MS = 1000

async function setup (t: Tap, tunnelIdleMs = IDLE_MS): Promise<{ gw: TestGateway, up: TestUpstream, clock: ManualClock, tunnel: Tunnel }> {
  const up = await upstream(t, 'ws')
  const clock = new ManualClock()
  const gw = await gateway(t, { pools: { ws: { targets: [up.url], timeouts: { tunnelIdleMs } } }, routes: [{ path: '/', pool: 'ws' }] }, { clock, defaultMetrics: false })
  const tunnel = await openTunnel(t, portOf(gw.url))
  return { gw, up, clock, tunnel }
}

/** Lets socket events that are already under way land before the test looks (the clock does not move). */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

function target (gw: TestGateway): TargetStatusView {
  return gw.gateway.status().pools.ws!.targets[0]!
}

t.test('a silent tunnel is closed after tunnelIdleMs, both ends, and the access log says why', async (t) => {
  const { gw, up, clock, tunnel } = await setup(t)
  clock.advance(IDLE_MS - 1)
  await settle()
  t.equal(tunnel.isClosed(), false, 'still open just before tunnelIdleMs')
  t.equal(up.tunnels.size, 1)

  clock.advance(1)
  await tunnel.closed
  await waitFor(() => up.tunnels.size === 0)
  t.equal(up.tunnels.size, 0, "the target's end is closed too")
  await waitFor(() => target(gw).tunnels === 0)
  t.match(target(gw), { inFlight: 0, tunnels: 0 }, "the target's slot is released")
  t.equal(gw.gateway.pools().get('ws')!.breaker.state, 'closed', 'an idle tunnel is no failure of the target')

  await waitFor(() => gw.accessLogs().some((l) => l.requestId === tunnel.requestId))
  const line = gw.accessLogs().find((l) => l.requestId === tunnel.requestId)!
  t.match(line, { status: 101, upgrade: true, tunnelIdleTimeout: true })
})

t.test('bytes from the client keep the tunnel open; the timeout counts from the last of them', async (t) => {
  const { clock, tunnel } = await setup(t)
  for (let i = 0; i < 4; i++) {
    clock.advance(IDLE_MS * 0.6)
    await tunnel.roundTrip() // 4 × 0.6 = 2.4 × tunnelIdleMs in all, never 1 × without a byte
  }
  t.equal(tunnel.isClosed(), false, 'open after 2.4 × tunnelIdleMs of traffic')
  clock.advance(IDLE_MS - 1)
  await settle()
  t.equal(tunnel.isClosed(), false, 'open until tunnelIdleMs after the last byte')
  clock.advance(1)
  await tunnel.closed
  t.pass('closed tunnelIdleMs after the last byte')
})

t.test('bytes the target pushes keep the tunnel open too', async (t) => {
  const { up, clock, tunnel } = await setup(t)
  const upstreamEnd = up.tunnels.values().next().value!
  for (let i = 0; i < 3; i++) {
    clock.advance(IDLE_MS * 0.6)
    const got = new Promise<Buffer>((resolve) => tunnel.socket.once('data', resolve))
    upstreamEnd.write(`push ${i}`)
    t.equal((await got).toString(), `push ${i}`)
  }
  await settle()
  t.equal(tunnel.isClosed(), false, 'open after 1.8 × tunnelIdleMs of pushes alone')
  clock.advance(IDLE_MS)
  await tunnel.closed
  t.pass('closed once the pushes stop')
})

t.test('tunnelIdleMs: 0 never closes a tunnel', async (t) => {
  const { clock, tunnel } = await setup(t, 0)
  clock.advance(365 * 24 * 3600 * 1000)
  await settle()
  t.equal(tunnel.isClosed(), false)
  await tunnel.roundTrip()
})
