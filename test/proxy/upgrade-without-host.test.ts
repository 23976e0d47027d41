// An HTTP/1.1 WebSocket upgrade without Host is refused 400, as a plain HTTP/1.1 request without one is (RFC 9112
// §3.2). Node's parser checks Host only after its upgrade branch, so the handshake was routed as a request for no host
// and tunnelled (review r36g). HTTP/1.0 may leave Host out.
import t from 'tap'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway } from './setup.ts'

const UPGRADE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'

t.test('an HTTP/1.1 upgrade without Host is refused 400', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const res = await rawRequest(portOf(gw.url), `GET /ws HTTP/1.1\r\n${UPGRADE}\r\n`)
  t.equal(res.status, 400)
  t.equal(u.requests.length, 0, 'nothing reached the upstream')
  const plain = await rawRequest(portOf(gw.url), 'GET /x HTTP/1.1\r\nConnection: close\r\n\r\n')
  t.equal(plain.status, 400, 'as a plain request without Host')
})
