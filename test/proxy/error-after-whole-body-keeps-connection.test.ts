// The gateway's own error answer closes the connection only when the request's body was not read to its end
// (src/proxy/forward.ts #sendError: `unread = hasBody && !req.complete`, then Connection: close and the rest of the
// body read and dropped). An upload read whole before the error (a POST whose target refused its connection: 502
// upstream_unreachable) leaves nothing unread: the answer keeps the connection alive, as any answer to a complete
// HTTP/1.1 request does (RFC 9112 §9.3), and the next request on it is served. Closing it would cost every client of
// a failing pool a new connection per failed POST.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { refusedUrl } from './setup.ts'

t.test('a 502 to a POST whose body was read whole keeps the connection; the next request on it is answered', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({
    pools: {
      gone: { targets: [await refusedUrl()], retry: { attempts: 1 }, circuitBreaker: { enabled: false } },
      ok: { targets: [u.url] },
    },
    routes: [{ path: '/gone', pool: 'gone' }, { path: '/ok', pool: 'ok' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('POST /gone/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello')
  await waitFor(() => /\r\n\r\n\{.*\}$/s.test(c.received()))
  const head = c.received().split('\r\n\r\n')[0]!
  t.match(head, /^HTTP\/1\.1 502 /, 'the upstream is unreachable')
  t.notMatch(head, /^connection: close$/im, 'the body was read whole: nothing to close for')
  c.reset()
  c.socket.write('GET /ok/y HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => /^HTTP\/1\.1 200 /.test(c.received()) || c.isClosed())
  t.match(c.received(), /^HTTP\/1\.1 200 /, 'the next request on the connection is served')
  t.equal(c.isClosed(), false)
})
