// A WebSocket handshake with a body is refused 400 (RFC 9110 §7.8: the protocol would switch only after it; Node
// would hand it over as the tunnel's first bytes). 'Content-Length: 0' announces no body: such a handshake (some
// clients and proxies add the field to every GET) is an ordinary upgrade, tunnelled with its 101, and the upstream
// hears the handshake.
import t from 'tap'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawHandshake } from './raw.ts'
import { gateway } from './setup.ts'

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'

t.test('a handshake with Content-Length: 0 is tunnelled: 101, not the 400 of a handshake with a body', async (t) => {
  const ws = await TestUpstream.start({ name: 'ws' })
  t.teardown(() => ws.close())
  const gw = await gateway(t, { pools: { p: { targets: [ws.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const { response, socket } = await rawHandshake(portOf(gw.url), `${HANDSHAKE}Content-Length: 0\r\n\r\n`)
  socket.destroy()
  t.equal(response.status, 101)
  t.equal(response.headers.upgrade?.toLowerCase(), 'websocket')
  t.equal(ws.requests.length, 1, 'the upstream heard the handshake')
})
