// Belongs in test/proxy/. An HTTP/1.1 upgrade whose request line is absolute-form still needs a Host line (RFC 9112
// §3.2: "A server MUST respond with a 400 ... to any HTTP/1.1 request message that lacks a Host header field"; the
// authority in the target names the host for routing, it does not stand in for the field). Node refuses a plain
// request without Host but lets an upgrade through, so the gateway's own check (src/proxy/front.ts malformedRequest)
// must look at the Host *line*, not at the host the request is routed by (which for absolute-form is the authority).
import t from 'tap'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway } from './setup.ts'

const UPGRADE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'

t.test('an absolute-form HTTP/1.1 upgrade without a Host line is refused 400', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const res = await rawRequest(portOf(gw.url), `GET http://shop.example/ws HTTP/1.1\r\n${UPGRADE}\r\n`)
  t.equal(res.status, 400)
  t.equal(u.requests.length, 0, 'nothing reached the upstream')
  const plain = await rawRequest(portOf(gw.url), 'GET http://shop.example/x HTTP/1.1\r\nConnection: close\r\n\r\n')
  t.equal(plain.status, 400, 'as a plain absolute-form request without Host')
})
