// A reload that removes the target of an open WebSocket tunnel, or its pool, or changes the pool's settings or the
// target's weight: the tunnel keeps running until either side closes it (Envoy's default for a removed host), the
// target is listed in /status as draining with its tunnel while the pool exists, a disable still closes it, and
// once it closes nothing of the removed target is left open.
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf } from '../proxy/raw.ts'
import { openTunnel, type Tunnel } from '../proxy/ws-tunnel.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface Setup { gw: TestGateway; a: TestUpstream; b: TestUpstream; tunnel: Tunnel; reload (config: GatewayConfig): Promise<void>; view (pool: string, u: TestUpstream): TargetStatusView | undefined }

const base = (a: TestUpstream, b: TestUpstream): GatewayConfig => ({
  pools: { ws: { targets: [a.url] }, other: { targets: [b.url] } },
  routes: [{ path: '/ws', pool: 'ws' }, { path: '/', pool: 'other' }],
})

/** A gateway whose /ws pool has `a` alone, with one tunnel open to `a`. */
async function setup (t: Tap): Promise<Setup> {
  const a = await TestUpstream.start({ name: 'a' })
  const b = await TestUpstream.start({ name: 'b' })
  let next: GatewayConfig = base(a, b)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
  const tunnel = await openTunnel(t, portOf(gw.url), '/ws')
  return {
    gw, a, b, tunnel,
    async reload (config) {
      next = config
      t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
    },
    view: (pool, u) => gw.gateway.status().pools[pool]?.targets.find((x) => x.id === `127.0.0.1:${u.port}`),
  }
}

/** Closes the tunnel from the client and waits until the target's end and every gateway connection to it are gone. */
async function closeAndSettle (s: Setup): Promise<void> {
  s.tunnel.socket.destroy()
  await waitFor(() => s.a.tunnels.size === 0)
}

t.test('a reload that removes the target: the tunnel runs on, listed as draining, then closes cleanly', async (t) => {
  const s = await setup(t)
  await s.reload({ ...base(s.a, s.b), pools: { ws: { targets: [s.b.url] }, other: { targets: [s.b.url] } } })
  await s.tunnel.roundTrip('after the reload')
  t.match(s.view('ws', s.a), { state: 'draining', inFlight: 1, tunnels: 1 }, 'the removed target is listed, draining, with its tunnel')
  const fresh = await openTunnel(t, portOf(s.gw.url), '/ws')
  t.equal(s.b.tunnels.size, 1, 'a new tunnel goes to the new target')
  fresh.socket.destroy()
  await closeAndSettle(s)
  await waitFor(() => s.view('ws', s.a) === undefined)
  t.pass('once the tunnel closed, the removed target is gone from /status')
})

t.test('a reload that changes the target\'s weight: one entry with the tunnel; disable closes the old copy\'s tunnel', async (t) => {
  const s = await setup(t)
  await s.reload({ ...base(s.a, s.b), pools: { ws: { targets: [{ url: s.a.url, weight: 3 }] }, other: { targets: [s.b.url] } } })
  await s.tunnel.roundTrip('after the reload')
  const entries = s.gw.gateway.status().pools.ws!.targets
  t.equal(entries.length, 1, 'listed once')
  t.match(entries[0], { state: 'healthy', weight: 3, inFlight: 1, tunnels: 1 })
  const admin = await s.gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${admin}/pools/ws/targets/${encodeURIComponent(`127.0.0.1:${s.a.port}`)}/disable`, { method: 'POST' })
  t.equal(res.status, 200)
  await waitFor(() => s.tunnel.isClosed() && s.a.tunnels.size === 0)
  t.match(s.view('ws', s.a), { state: 'disabled', inFlight: 0, tunnels: 0 }, "disable closed the old copy's tunnel")
})

t.test("a reload that changes the pool's settings: the tunnel is still counted, so a drain is not done while it is open", async (t) => {
  const s = await setup(t)
  await s.reload({ ...base(s.a, s.b), pools: { ws: { targets: [s.a.url], timeouts: { requestMs: 20_000 } }, other: { targets: [s.b.url] } } })
  await s.tunnel.roundTrip('after the pool was rebuilt')
  t.match(s.view('ws', s.a), { inFlight: 1, tunnels: 1 }, 'the tunnel is counted on the target of the rebuilt pool')
  const admin = await s.gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const target = `${admin}/pools/ws/targets/${encodeURIComponent(`127.0.0.1:${s.a.port}`)}`
  t.equal((await fetch(`${target}/drain`, { method: 'POST' })).status, 200)
  t.match(s.view('ws', s.a), { state: 'draining', tunnels: 1 }, 'draining, not drained, while the tunnel is open')
  await s.tunnel.roundTrip('while draining')
  t.equal((await fetch(`${target}/disable`, { method: 'POST' })).status, 200)
  await waitFor(() => s.tunnel.isClosed() && s.a.tunnels.size === 0)
  t.match(s.view('ws', s.a), { state: 'disabled', inFlight: 0, tunnels: 0 }, 'disable closed it')
})

t.test('a reload that removes the pool: the tunnel runs on until it closes, then nothing of the pool is left open', async (t) => {
  const s = await setup(t)
  const connections = (): Promise<number> => new Promise((resolve) => s.a.server.getConnections((_err, n) => resolve(n)))
  await s.reload({ pools: { other: { targets: [s.b.url] } }, routes: [{ path: '/', pool: 'other' }] })
  await s.tunnel.roundTrip('after its pool was removed')
  t.equal(s.gw.gateway.status().pools.ws, undefined, 'the pool is gone from /status')
  t.equal(s.gw.gateway.status().tunnels, 1, '...but its tunnel is still counted gateway-wide in /status')
  t.same(s.gw.gateway.status().removedPools, { ws: { inFlight: 1, tunnels: 1 } }, '...and under the removed pool\'s name')
  t.match(await s.gw.gateway.metrics!.render(), /^switchyard_websocket_tunnels_open 1$/m, '...and in the metrics')
  await closeAndSettle(s)
  await waitFor(async () => (await connections()) === 0)
  t.equal(await connections(), 0, 'no connection to the removed pool\'s target is left')
  await waitFor(() => s.gw.gateway.status().tunnels === 0)
  t.match(await s.gw.gateway.metrics!.render(), /^switchyard_websocket_tunnels_open 0$/m, 'the gauge is back to 0')
  t.same(s.gw.gateway.status().removedPools, {}, 'the removed pool is no longer listed')
})

t.test("a reload that changes the target's scheme on the same host:port: one entry, the old copy's tunnel counted", async (t) => {
  // the old http:// copy is another upstream client than the new https:// one, counted apart: /status adds them up
  const s = await setup(t)
  await s.reload({ ...base(s.a, s.b), pools: { ws: { targets: [`https://127.0.0.1:${s.a.port}`] }, other: { targets: [s.b.url] } } })
  const entries = s.gw.gateway.status().pools.ws!.targets.filter((x) => x.id === `127.0.0.1:${s.a.port}`)
  t.equal(entries.length, 1, 'listed once')
  t.match(entries[0], { inFlight: 1, tunnels: 1 }, 'with the tunnel the old copy holds')
  await closeAndSettle(s)
})
