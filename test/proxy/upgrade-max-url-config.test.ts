// The gateway hands server.maxUrlBytes to its WebSocket path: an upgrade whose request target is longer is refused
// 414 and never reaches an upstream, as a plain request is.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const UPGRADE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'

t.test('an upgrade over server.maxUrlBytes is refused 414', async (t) => {
  const upstream = await TestUpstream.start()
  const gw = await startGateway({ server: { maxUrlBytes: 256 }, pools: { p: { targets: [upstream.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await upstream.close() })
  const conn = rawConnection(t, Number(new URL(gw.url).port))
  await conn.connected
  conn.socket.write(`GET /ws?${'a'.repeat(4000)} HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n`)
  await conn.closed
  t.match(conn.received(), /^HTTP\/1\.1 414 /, '414')
  t.equal(upstream.hits, 0, 'nothing reached the upstream')
  t.equal(upstream.tunnels.size, 0, 'no tunnel')
})
