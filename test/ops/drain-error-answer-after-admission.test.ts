// A request admitted while the gateway served, whose answer is the gateway's own error (504 upstream_timeout here)
// written after the drain began, says Connection: close and its connection closes, as a proxied answer written
// then does: whether a connection closes is decided when its answer's head is written, not when the request came
// (Envoy's drain decides at the response headers; HAProxy closes every connection after its current response on a
// soft stop). Kept open, the client would send its next request on a connection the shutdown closes about a second
// after the listener, and could meet a reset. (src/proxy/forward.ts, #sendError: `ex.gate.closing`.)
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a gateway error answer written after the drain began says Connection: close and the connection closes', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  u.mode = 'hang'
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 60_000, timeoutMs: 5000 },
    pools: { u: { targets: [u.url], timeouts: { requestMs: 1000 }, retry: { attempts: 1 }, outlier: { enabled: false } } },
    routes: [{ path: '/api', pool: 'u' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())

  const c = rawConnection(t, Number(new URL(gw.url).port))
  c.socket.write('GET /api HTTP/1.1\r\nHost: gw\r\n\r\n')
  await waitFor(() => u.hits === 1)
  void gw.gateway.shutdown()
  await waitFor(() => gw.gateway.proxy.phase === 'draining')
  // the request's deadline runs out during the drain: the gateway answers it
  clock.advance(1000)
  await waitFor(() => c.received().includes('upstream_timeout'), 2000)
  t.match(c.received(), /^HTTP\/1\.1 504 /)
  t.match(c.received().toLowerCase(), /\r\nconnection: close\r\n/, 'asks the client to close')
  await waitFor(() => c.isClosed(), 2000).catch(() => {})
  t.ok(c.isClosed(), 'the gateway closes the connection after the answer')
})
