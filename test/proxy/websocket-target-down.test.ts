// Health checks mark the target of an open WebSocket tunnel down, or outlier detection ejects it: new tunnels go
// elsewhere, but the open one is left alone until either side closes it (Envoy's default: a host's health does
// not close its connections). Only an operator's disable closes tunnels (websocket-disable.test.ts).
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import { waitFor } from '../helpers/gateway.ts'
import { portOf } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel } from './ws-tunnel.ts'

t.test('a target marked unhealthy, then ejected, keeps its open tunnel; new tunnels go to the other target', async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gw = await gateway(t, {
    pools: { ws: { targets: [a.url, b.url], healthCheck: { intervalMs: 100, timeoutMs: 100, unhealthyThreshold: 1, healthyThreshold: 1, jitter: 0 } } },
    routes: [{ path: '/', pool: 'ws' }],
  }, { defaultMetrics: false })
  await waitFor(() => gw.gateway.readiness() === 'ready')
  const port = portOf(gw.url)
  const runtime = gw.gateway.pools().get('ws')!
  const view = (): TargetStatusView => gw.gateway.status().pools.ws!.targets.find((x) => x.id === `127.0.0.1:${a.port}`)!

  const two = await Promise.all([1, 2].map(() => openTunnel(t, port)))
  t.equal(a.tunnels.size, 1, 'round robin: one tunnel to each target')
  const onA = two.find((x) => a.requests.some((r) => r.headers['x-request-id'] === x.requestId))

  a.unhealthy = true
  await waitFor(() => view().state === 'unhealthy')
  await onA!.roundTrip('after the target was marked down')
  t.match(view(), { state: 'unhealthy', inFlight: 1, tunnels: 1 }, 'marked down, its tunnel still open and counted')
  await Promise.all([1, 2].map(() => openTunnel(t, port)))
  t.equal(a.tunnels.size, 1, 'new tunnels went to the healthy target')

  a.unhealthy = false
  await waitFor(() => view().state === 'healthy')
  runtime.pool.setStatus(runtime.pool.targets.find((x) => x.id === view().id)!, { ejectedUntil: runtime.clock.now() + 60_000 })
  t.equal(view().state, 'ejected')
  await onA!.roundTrip('after the target was ejected')
  t.match(view(), { inFlight: 1, tunnels: 1 })
  onA!.socket.destroy()
  await waitFor(() => view().inFlight === 0 && a.tunnels.size === 0)
  t.match(view(), { tunnels: 0, failures: 0 }, 'closed by its client, released, no failure')
})
