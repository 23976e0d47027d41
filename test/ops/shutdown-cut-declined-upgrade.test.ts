// A declined WebSocket upgrade whose answer (a 403 body) is still being passed on when shutdown.timeoutMs runs out is
// logged as the gateway's cut, error shutdown_cut, not as a client that left (aborted), as an open tunnel or a
// handshake waiting for its 101 is (shutdown-cut-upgrade.test.ts). An operator counting client aborts after a
// deploy must not find the gateway's own cuts among them. The gateway runs on a manual clock.
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from '../proxy/queued-handshake.ts'

const TIMEOUT_MS = 1000

t.test('a 403 still being passed on when the shutdown timeout cuts it: 403 with error shutdown_cut, not aborted', async (t) => {
  // declines with a 403 promising 100 bytes, sends 10, and holds the rest
  const sockets = new Set<Socket>()
  const upstream = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => { socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789') })
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); upstream.close() })
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
    pools: { u: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`], retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'u' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => client.received().includes('0123456789'))

  const done = gw.gateway.shutdown()
  clock.advance(0) // shutdown.delayMs 0
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  clock.advance(TIMEOUT_MS)
  await done
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  const line = gw.accessLogs().find((l) => l.upgrade === true)!
  t.match(line, { status: 403, upstreamDeclinedUpgrade: true, error: 'shutdown_cut' })
  t.equal(line.aborted, undefined, 'not a client that left')
})
