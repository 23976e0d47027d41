// The shutdown's cut ends the open tunnels before it returns: their sockets close a turn after they are destroyed, and
// each tunnel's access-log line (error: shutdown_cut) is written then. The CLI exits as soon as the shutdown returns,
// so a tunnel cut at the timeout left no line at all (review r36i); a plain request's 503 shutdown_cut was there.
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'

const TIMEOUT_MS = 1000
const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'

t.test('a tunnel cut at the shutdown timeout has ended, its line written, when the shutdown returns', async (t) => {
  const held = new Set<Socket>()
  const upstream = createServer()
  upstream.on('upgrade', (_req, socket: Socket) => {
    held.add(socket)
    socket.on('error', () => {})
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n')
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of held) s.destroy(); upstream.close() })
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
    pools: { u: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`] } },
    routes: [{ path: '/', pool: 'u' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  const tunnel = rawConnection(t, Number(new URL(gw.url).port))
  await tunnel.connected
  tunnel.socket.write(HANDSHAKE)
  await waitFor(() => tunnel.received().startsWith('HTTP/1.1 101'))

  const done = gw.gateway.shutdown()
  clock.advance(0)
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  clock.advance(TIMEOUT_MS)
  await done
  t.equal(gw.gateway.status().tunnels, 0, 'the tunnel has ended when the shutdown returns')
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/ws'))
  t.match(gw.accessLogs().find((l) => l.path === '/ws'), { status: 101, error: 'shutdown_cut' })
})
