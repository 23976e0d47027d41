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
    await waitFor(() => c.isClosed(), 2000).catch(() => {})
    t.ok(c.isClosed(), `${id}: the gateway closes the connection after the answer`)
  }
  t.same(u.requests.length, 0, 'nothing reached the upstream')
  t.match(gw.accessLogs().find((l) => l.requestId === 'kept'), { status: 404 })
})

// The refusals answered before routing (ProxyHandler.refuse: 417 for an Expect the gateway cannot meet, 503
// overloaded) close the connection while draining too: an overloaded pod being taken out must not keep clients that
// retry after Retry-After on the same connection.
const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
  ['417 expectation_failed', {}, 'GET /api HTTP/1.1\r\nHost: gw\r\nExpect: something-else\r\n\r\n', /^HTTP\/1\.1 417 /],
  ['503 overloaded', { server: { maxHeapUsedBytes: 1 } }, 'GET /api HTTP/1.1\r\nHost: gw\r\n\r\n', /^HTTP\/1\.1 503 /],
]
for (const [name, settings, request, status] of refusals) {
  t.test(`a refusal before routing (${name}) during the drain says Connection: close and the connection closes`, async (t) => {
    const u = await TestUpstream.start({ name: 'u' })
    t.teardown(() => u.close())
    const gw = await startGateway({
      shutdown: { delayMs: 60_000, timeoutMs: 5000 },
      pools: { u: { targets: [u.url] } },
      routes: [{ path: '/api', pool: 'u' }],
      ...settings,
    }, { clock: new ManualClock(), defaultMetrics: false })
    t.teardown(() => gw.close())
    const port = Number(new URL(gw.url).port)
    // overload is sampled, not immediate: wait until it refuses
    if (name.startsWith('503')) await waitFor(async () => (await fetch(`${gw.url}/nowhere`)).status === 503, 5000, 50)
    const c = rawConnection(t, port)
    c.socket.write(request)
    await waitFor(() => status.test(c.received()) && c.received().includes('\r\n\r\n'))
    t.notMatch(c.received().toLowerCase(), /\r\nconnection: close\r\n/, 'serving: kept alive')
    c.reset()

    void gw.gateway.shutdown()
    await waitFor(() => gw.gateway.proxy.phase === 'draining')
    c.socket.write(request)
    await waitFor(() => status.test(c.received()) && c.received().includes('\r\n\r\n'), 2000)
    t.match(c.received().toLowerCase(), /\r\nconnection: close\r\n/, 'asks the client to close')
    await waitFor(() => c.isClosed(), 2000).catch(() => {})
    t.ok(c.isClosed(), 'the gateway closes the connection after the answer')
  })
}
