// A request with Content-Length: 0 has no body: a refusal of it (here 404 no_route) leaves nothing unread on the
// connection, so the connection stays open and the request pipelined behind it is answered, as for a GET (nginx
// keeps it too). Only a refusal that leaves a body unread must close (RFC 9112 §9.6). Pins src/proxy/forward.ts
// #start: `ex.hasBody = facts.chunked || (facts.contentLength !== undefined && facts.contentLength !== '0')`.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from './setup.ts'

const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]!)

t.test('a refused POST with Content-Length: 0 keeps its connection: the pipelined request behind it is answered', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /api/b HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => statuses(c.received()).length === 2 || c.socket.destroyed || c.socket.readableEnded)
  t.strictSame(statuses(c.received()), ['404', '200'])
  t.notMatch(c.received(), /connection: close/i)
  t.strictSame(u.requests.map((r) => r.url), ['/api/b'])
})
