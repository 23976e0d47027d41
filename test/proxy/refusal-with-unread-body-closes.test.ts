// A request refused before its body was read (here 404 no_route, its Content-Length body still on the way) leaves
// that body unread on the connection: the refusal says Connection: close and the connection closes (RFC 9112 §9.6),
// as nginx and HAProxy close after an early error answer; the gateway does not wait to drain a body it will never
// use. Pins src/proxy/forward.ts #sendError: `if (closes || (ex.hasBody && !ex.req.complete)) ...connection = 'close'`.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from './setup.ts'

t.test('a refusal that leaves the request body unread closes the connection', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  // 100,000 bytes announced, 10 sent: the rest never comes
  c.socket.write('POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789')
  await waitFor(() => /"error":"no_route"/.test(c.received()))
  t.match(c.received(), /^HTTP\/1\.1 404 /)
  t.match(c.received(), /\r\nconnection: close\r\n/i, 'the answer says the connection closes')
  await waitFor(() => c.socket.readableEnded || c.socket.destroyed, 2000)
  t.pass('the gateway closed the connection')
  t.equal(u.requests.length, 0)
})
