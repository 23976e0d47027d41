// Many WebSocket tunnels opened, used and closed (200 one after another, then 50 at once, closed by the client and
// by the target in turn): afterwards nothing has grown (sockets, handles, listeners, upstream connections), every
// in-flight and tunnel count is back to 0, and the metrics count each upgrade once.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { portOf } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel, type Tunnel } from './ws-tunnel.ts'

const SEQUENTIAL = 200
const CONCURRENT = 50

function handles (): Record<string, number> {
  const out: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) out[type] = (out[type] ?? 0) + 1
  return out
}

t.test(`${SEQUENTIAL} sequential and ${CONCURRENT} concurrent tunnels leave nothing behind and are counted once each`, async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gw = await gateway(t, { pools: { ws: { targets: [a.url, b.url] } }, routes: [{ name: 'chat', path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  const port = portOf(gw.url)
  const { server } = gw.gateway.app
  const runtime = gw.gateway.pools().get('ws')!
  const connections = (): Promise<number[]> => Promise.all([gw.gateway.app.server, a.server, b.server].map((s) => new Promise<number>((resolve) => s.getConnections((_e, n) => resolve(n)))))
  const listeners = (): number[] => [server.listenerCount('upgrade'), server.listenerCount('connection'), runtime.pool.listenerCount('status'), runtime.pool.listenerCount('drained')]
  const open = (): number => a.tunnels.size + b.tunnels.size
  const settle = async (): Promise<void> => {
    await waitFor(() => open() === 0 && runtime.pool.targets.every((x) => x.inFlight === 0))
    await waitFor(async () => (await connections()).every((n) => n === 0))
  }

  // one tunnel first, so everything made once (the upstream pools, the metric series) exists in the baseline
  const first = await openTunnel(t, port)
  first.socket.destroy()
  await settle()
  const before = { handles: handles(), listeners: listeners() }

  // closed by the client and by the target in turn
  const close = async (tunnel: Tunnel, i: number): Promise<void> => {
    if (i % 2 === 0) tunnel.socket.end()
    else for (const s of [...a.tunnels, ...b.tunnels]) s.end()
    await tunnel.closed
  }
  for (let i = 0; i < SEQUENTIAL; i++) {
    const tunnel = await openTunnel(t, port)
    await tunnel.roundTrip()
    await close(tunnel, i)
  }
  const many = await Promise.all(Array.from({ length: CONCURRENT }, () => openTunnel(t, port)))
  t.equal(open(), CONCURRENT, `${CONCURRENT} tunnels open at once`)
  t.equal(runtime.pool.targets.reduce((n, x) => n + x.tunnels, 0), CONCURRENT, 'and counted as tunnels on their targets')
  await Promise.all(many.map((x) => x.roundTrip()))
  for (const x of many) x.socket.destroy()
  await settle()

  t.strictSame(await connections(), [0, 0, 0], 'no connection left at the gateway or either target')
  t.strictSame(listeners(), before.listeners, 'no listener added')
  t.strictSame(handles(), before.handles, 'no handle (socket, timer) left behind')
  for (const x of gw.gateway.status().pools.ws!.targets) t.match(x, { state: 'healthy', inFlight: 0, tunnels: 0, failures: 0 })
  t.equal(gw.gateway.proxy.active, 0)

  const total = 1 + SEQUENTIAL + CONCURRENT
  await waitFor(() => gw.accessLogs().length === total)
  t.equal(gw.accessLogs().filter((l) => l.status === 101).length, total, 'one 101 access-log line per tunnel')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_requests_total', { route: 'chat', pool: 'ws', method: 'GET', code: '101' })], total, 'requests_total counts each upgrade once')
  const attempts = (target: string): number => series[key('switchyard_upstream_attempts_total', { pool: 'ws', target, outcome: 'success' })] ?? 0
  t.equal(attempts(`127.0.0.1:${a.port}`) + attempts(`127.0.0.1:${b.port}`), total, 'one successful attempt per tunnel')
  t.equal(series[key('switchyard_target_in_flight', { pool: 'ws', target: `127.0.0.1:${a.port}` })], 0)
  t.equal(series[key('switchyard_target_in_flight', { pool: 'ws', target: `127.0.0.1:${b.port}` })], 0)
})
