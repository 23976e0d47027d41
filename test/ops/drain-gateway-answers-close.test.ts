// While the gateway drains after SIGTERM (shutdown.delayMs, listener still open), every answer asks its client to
// close the connection, so kept-alive clients reconnect to another replica: not only answers an upstream gave, but
// the gateway's own answers too (404 no_route here), whose headers come from the error catalogue and not from the
// attempt. An operator expects what Envoy and HAProxy do while draining: `Connection: close` on every response and
// the connection closed after it. (src/proxy/forward.ts, handle: `if (this.#phase !== 'serving')
// res.setHeader('connection', 'close')`.) The gateway runs on a manual clock: the drain lasts until the test ends.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a gateway-made answer (404 no_route) during the drain says Connection: close and the connection closes', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 60_000, timeoutMs: 5000 },
    pools: { u: { targets: [u.url] } },
    routes: [{ path: '/api', pool: 'u' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)

  // before the drain: the same refusal keeps the connection
  const before = rawConnection(t, port)
  before.socket.write('GET /nowhere HTTP/1.1\r\nHost: gw\r\nX-Request-Id: before\r\n\r\n')
  await waitFor(() => before.received().includes('no_route'))
  t.match(before.received(), /^HTTP\/1\.1 404 /)
  t.notMatch(before.received().toLowerCase(), /\r\nconnection: close\r\n/, 'serving: kept alive')
  before.reset()

  void gw.gateway.shutdown()
  await waitFor(() => gw.gateway.proxy.phase === 'draining')

  // the kept-alive connection's next request, and a new connection's first, both during the drain
  const fresh = rawConnection(t, port)
  for (const [c, id] of [[before, 'kept'], [fresh, 'fresh']] as const) {
    c.socket.write(`GET /nowhere HTTP/1.1\r\nHost: gw\r\nX-Request-Id: ${id}\r\n\r\n`)
    await waitFor(() => c.received().includes('no_route'), 2000)
    t.match(c.received(), /^HTTP\/1\.1 404 /, `${id}: still answered while draining`)
    t.match(c.received().toLowerCase(), /\r\nconnection: close\r\n/, `${id}: asks the client to close`)
    let closed = false
    void c.closed.then(() => { closed = true })
    await waitFor(() => closed, 2000).catch(() => {})
    t.ok(closed, `${id}: the gateway closes the connection after the answer`)
  }
  t.same(u.requests.length, 0, 'nothing reached the upstream')
  t.match(gw.accessLogs().find((l) => l.requestId === 'kept'), { status: 404 })
})
