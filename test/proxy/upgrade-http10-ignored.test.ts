// RFC 9110 §7.8: "A server MUST ignore an Upgrade header field that is received in an HTTP/1.0 request." An HTTP/1.0
// WebSocket handshake was taken for an upgrade and refused 400 (review r42b). It is an ordinary request now: proxied
// without Upgrade and the Connection that names it (hop-by-hop), and its answer is the client's.
import t from 'tap'
import { TestUpstream, type Echo } from '../helpers/upstream.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

t.test('an HTTP/1.0 request with Upgrade: websocket is served as a plain request', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('GET /ws HTTP/1.0\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  await c.closed
  const received = c.received()
  t.match(received, /^HTTP\/1\.1 200 OK\r\n/, 'the upstream\'s plain answer, not a 400 or a 101')
  const echo = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as Echo
  t.equal(echo.url, '/ws')
  t.equal(echo.headers.upgrade, undefined, 'Upgrade is not passed on')
  t.notMatch(String(echo.headers.connection ?? ''), /upgrade/i, 'nor a Connection naming it')
  t.equal(u.requests.length, 1, 'one plain request reached the upstream')
  await waitFor(() => gw.accessLogs().length === 1)
  const line = gw.accessLogs().find((l) => l.path === '/ws')
  t.equal(line?.status, 200)
  t.equal(line?.upgrade, undefined, 'logged as a request, not an upgrade')
})
