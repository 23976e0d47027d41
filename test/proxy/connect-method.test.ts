// CONNECT asks for a tunnel to an address the client names (RFC 9110 §9.3.6); the gateway opens none. It answers
// 501 method_not_implemented and closes the connection (Node, with no listener, closed it without an answer),
// after any answer still owed on the connection, with one access-log line, and nothing reaches an upstream.
import t from 'tap'
import { gateway, upstream } from './setup.ts'
import { portOf, rawExchange } from './raw.ts'

const CONNECT = 'CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\nX-Request-Id: tunnel-1\r\n\r\n'

t.test('CONNECT is 501 method_not_implemented, and the connection closes', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const raw = (await rawExchange(portOf(gw.url), CONNECT)).toString('latin1')
  t.match(raw, /^HTTP\/1\.1 501 /)
  t.match(raw, /\r\nconnection: close\r\n/i)
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: string; requestId: string }
  t.equal(body.error, 'method_not_implemented')
  t.equal(body.requestId, 'tunnel-1')
  t.equal(u.hits, 0, 'nothing reached the upstream')
  const line = gw.accessLogs().find((l) => l.method === 'CONNECT')
  t.equal(line?.status, 501)
  t.equal(line?.requestId, 'tunnel-1')
})

t.test('a CONNECT pipelined behind a GET is answered after it, in order', async (t) => {
  const u = await upstream(t, 'u')
  u.delayMs = 100 // the GET is still being answered when the CONNECT arrives
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const raw = (await rawExchange(portOf(gw.url), `GET /first HTTP/1.1\r\nHost: a\r\n\r\n${CONNECT}`)).toString('latin1')
  const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
  t.strictSame(statuses, [200, 501], 'the GET\'s answer whole, then the refusal')
  t.equal(u.hits, 1, 'only the GET reached the upstream')
})
