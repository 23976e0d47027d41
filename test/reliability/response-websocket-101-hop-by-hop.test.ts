// The 101 that opens a WebSocket tunnel loses its hop-by-hop fields as every answer does (RFC 9110 §7.6.1): those its
// Connection names, Keep-Alive, Proxy-Connection. Upgrade stays, with a Connection that names it (RFC 9110 §7.8).
import { once } from 'node:events'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway } from '../proxy/setup.ts'
import { parseHeadText } from '../proxy/raw.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

t.test('a WebSocket 101 is passed on without its hop-by-hop fields', async (t) => {
  const u = await ScriptedUpstream.start((socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Internal-Token\r\nX-Internal-Token: s3cret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nX-Kept: 1\r\n\r\n`)
  })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  while (!c.received().includes('\r\n\r\n')) await once(c.socket, 'data')
  const text = c.received()
  const head = parseHeadText(text.slice(0, text.indexOf('\r\n\r\n')))!
  t.equal(head.status, 101)
  t.equal(head.headers['x-internal-token'], undefined, 'a field the Connection named is dropped')
  t.equal(head.headers['keep-alive'], undefined)
  t.equal(head.headers['proxy-connection'], undefined)
  t.equal(head.headers.upgrade, 'websocket', 'Upgrade is kept')
  t.equal(head.headers.connection, 'Upgrade', 'Connection names only the upgrade')
  t.equal(head.headers['sec-websocket-accept'], ACCEPT)
  t.equal(head.headers['x-kept'], '1', 'end-to-end fields are kept')
  t.match(head.headers['x-request-id'], /^[A-Za-z0-9_-]{22}$/, "the gateway's request id")
})
