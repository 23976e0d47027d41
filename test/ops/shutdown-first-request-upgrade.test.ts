// Shutting down, after the listener closed: a connection accepted before the close whose FIRST request is a
// WebSocket upgrade is served (101, the tunnel opens), as a first plain request is (docs: "a WebSocket upgrade on a
// connection kept alive since before gets 503 shutting_down" - only one kept alive since before; its client could
// not know the gateway was going). Pins src/proxy/forward.ts refusesUpgrade:
// `return (this.#phase === 'closed' || this.#phase === 'cutting') && hadRequest(req)`.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const CLOSED = 'listener closed, finishing requests in flight'
const WEBSOCKET = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'

t.test('after the close, a connection\'s first request, a WebSocket upgrade, is tunnelled, not refused', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: 5000 },
    pools: { u: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'u' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)

  // a connection the gateway's process has accepted (a probe on another connection is answered only after that)
  const c = rawConnection(t, port)
  await c.connected
  const probe = rawConnection(t, port)
  probe.socket.write('GET /accepted HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n')
  await probe.closed

  const done = gw.gateway.shutdown()
  clock.advance(0) // shutdown.delayMs 0
  await waitFor(() => gw.logs.some((l) => l.msg === CLOSED), 2000)

  c.socket.write(`GET /ws HTTP/1.1\r\nHost: gw\r\n${WEBSOCKET}\r\n`)
  await waitFor(() => c.received().includes('\r\n\r\n') || c.socket.destroyed)
  t.match(c.received(), /^HTTP\/1\.1 101 /, 'the upgrade is served')
  t.equal(u.requests.filter((r) => r.url === '/ws').length, 1, 'the upstream had the handshake')
  c.socket.write('ping')
  await waitFor(() => c.received().endsWith('ping'))
  c.socket.destroy()
  clock.advance(5000)
  await done
})
