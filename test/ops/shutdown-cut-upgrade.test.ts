// What shutdown.timeoutMs cuts beyond plain requests is logged and counted as the gateway's cut (shutdown_cut), not
// as clients that left: a WebSocket handshake still waiting for its 101 (503 shutdown_cut, not 499 aborted), an
// open tunnel (its 101 line says error: shutdown_cut), and a request or upgrade pipelined behind a hanging request,
// cut while it waited its turn (503 shutdown_cut, counted with the refusals, as no route had taken it yet). Before,
// the first and third looked like client aborts, and the waiting request was logged but counted nowhere. The
// gateway runs on a manual clock: the timeout ends when the test says.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

const TIMEOUT_MS = 1000

const handshake = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`

t.test('handshakes, tunnels and waiting requests cut by the shutdown timeout are shutdown_cut, not aborts', async (t) => {
  // '/hang' and '/ws/hold' never get an answer; '/ws/open' is switched and left open
  const held = new Set<ServerResponse | Socket>()
  const upstream = createServer((_req, res) => { held.add(res) })
  upstream.on('upgrade', (req, socket: Socket) => {
    held.add(socket)
    socket.on('error', () => {})
    if (req.url === '/ws/open') socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n')
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of held) if ('destroy' in s) s.destroy(); upstream.closeAllConnections(); upstream.close() })
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
    pools: { u: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`], retry: { perTryTimeoutMs: 60_000 } } },
    routes: [{ path: '/', pool: 'u' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)

  const tunnel = rawConnection(t, port)
  const pending = rawConnection(t, port)
  const piped = rawConnection(t, port)
  const pipedUpgrade = rawConnection(t, port)
  await Promise.all([tunnel.connected, pending.connected, piped.connected, pipedUpgrade.connected])
  tunnel.socket.write(handshake('/ws/open'))
  pending.socket.write(handshake('/ws/hold'))
  piped.socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\nGET /waiting HTTP/1.1\r\nHost: x\r\n\r\n')
  pipedUpgrade.socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n' + handshake('/ws/waiting'))
  await waitFor(() => tunnel.received().startsWith('HTTP/1.1 101') && held.size === 4)

  const done = gw.gateway.shutdown()
  clock.advance(0) // shutdown.delayMs 0
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  clock.advance(TIMEOUT_MS)
  await done
  await waitFor(() => gw.accessLogs().length === 6)

  const line = (path: string) => gw.accessLogs().find((l) => l.path === path)
  t.match(line('/ws/hold'), { status: 503, error: 'shutdown_cut', upgrade: true }, 'a handshake waiting for its 101')
  t.match(line('/ws/open'), { status: 101, error: 'shutdown_cut' }, 'an open tunnel')
  t.match(line('/waiting'), { status: 503, error: 'shutdown_cut' }, 'a request waiting its turn')
  t.match(line('/ws/waiting'), { status: 503, error: 'shutdown_cut', upgrade: true }, 'an upgrade waiting its turn')
  for (const l of gw.accessLogs()) t.equal(l.aborted, undefined, `${String(l.path)}: not a client that left`)

  const series = seriesOf(await gw.gateway.metrics!.render())
  const codes = Object.entries(series).filter(([k]) => k.startsWith('switchyard_requests_total{')).map(([k, v]) => `${/code="(\d+)"/.exec(k)![1]}:${v}`).sort()
  t.same(codes, ['101:1', '503:3'], 'the route counts the tunnel, the handshake and the two hanging requests: no 499')
  t.equal(series['switchyard_refused_requests_total{code="503",error="shutdown_cut"}'], 2, 'the two cut while waiting their turn, before any route')
})
