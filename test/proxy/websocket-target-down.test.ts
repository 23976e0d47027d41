// The target of an open WebSocket tunnel is marked down by health checks, or ejected by outlier detection: new
// tunnels go elsewhere, but the open one is left alone until either side closes it (Envoy's default: a host's
// health does not close its connections). Only an operator's disable closes tunnels (websocket-disable.test.ts).
// Both verdicts reach the pool the way the checker and the detector give them (setStatus, failure()), without
// probe timing: on a loaded machine a probe timeout would make the test flaky.
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import { waitFor } from '../helpers/gateway.ts'
import { portOf } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel, type Tunnel } from './ws-tunnel.ts'

t.test('a target marked unhealthy, then ejected, keeps its open tunnel; new tunnels go to the other target', async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gw = await gateway(t, {
    pools: { ws: { targets: [a.url, b.url], outlier: { consecutiveFailures: 1, maxEjectionPercent: 100, baseEjectionMs: 60_000 } } },
    routes: [{ path: '/', pool: 'ws' }],
  }, { defaultMetrics: false })
  const port = portOf(gw.url)
  const runtime = gw.gateway.pools().get('ws')!
  const targetA = runtime.pool.targets.find((x) => x.url === a.url)!
  const view = (): TargetStatusView => gw.gateway.status().pools.ws!.targets.find((x) => x.id === targetA.id)!
  const newTunnelsAvoidA = async (): Promise<void> => {
    const hits = a.hits
    const more = await Promise.all([1, 2].map(() => openTunnel(t, port)))
    t.equal(a.hits, hits, 'new tunnels go to the other target')
    for (const x of more) x.socket.destroy()
  }

  const two = await Promise.all([1, 2].map(() => openTunnel(t, port)))
  t.equal(a.tunnels.size, 1, 'round robin: one tunnel to each target')
  const onA: Tunnel = two.find((x) => a.requests.some((r) => r.headers['x-request-id'] === x.requestId))!

  runtime.pool.setStatus(targetA, { healthy: false })
  await onA.roundTrip('after the target was marked down')
  t.match(view(), { state: 'unhealthy', inFlight: 1, tunnels: 1 }, 'marked down, its tunnel still open and counted')
  await newTunnelsAvoidA()

  runtime.pool.setStatus(targetA, { healthy: true })
  runtime.outlier.failure(targetA)
  t.equal(view().state, 'ejected')
  await onA.roundTrip('after the target was ejected')
  t.match(view(), { inFlight: 1, tunnels: 1 })
  await newTunnelsAvoidA()

  onA.socket.destroy()
  await waitFor(() => view().inFlight === 0 && a.tunnels.size === 0)
  t.match(view(), { tunnels: 0, failures: 0 }, 'closed by its client, released, no failure')
})
