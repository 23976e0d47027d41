// The gateway's own answers written straight to a socket (Node's parser refusing bytes, a refused WebSocket
// upgrade) carry a Date, as every answer through a ServerResponse does (RFC 9110 §6.6.1), and Connection: close.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway, upstream } from './setup.ts'

const DATE = /\r\ndate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/i

t.test('raw refusals carry a Date and say Connection: close (the connection ends after them, RFC 9112 §9.6)', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const port = Number(new URL(gw.url).port)
  const cases: Array<[string, string, RegExp]> = [
    ['malformed bytes (parser)', 'GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['a WebSocket upgrade without Sec-WebSocket-Key', 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', /^HTTP\/1\.1 501 /],
  ]
  for (const [label, bytes, status] of cases) {
    const conn = rawConnection(t, port)
    await conn.connected
    conn.socket.write(bytes)
    await conn.closed
    t.match(conn.received(), status, `${label}: status`)
    t.match(conn.received(), DATE, `${label}: Date`)
    const head = conn.received().split('\r\n\r\n')[0]!
    t.match(head, /\r\nconnection: close(\r\n|$)/i, `${label}: Connection: close`)
  }
})
