// The gateway's own answers given before any route took the request (no route, a malformed path, a target too
// long, Node's parser refusing the bytes, CONNECT, an upgrade with no route) are counted in
// switchyard_refused_requests_total{code,error}: before, no series saw them (a route's series count the rest).
// Parser refusals also get an access-log line now, with the client's address (there was no request to name).
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('refusals before routing are counted by status and error code', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({
    server: { maxUrlBytes: 256, maxHeaderBytes: 1024 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/api', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const port = Number(new URL(gw.url).port)
  const raw = async (bytes: string): Promise<string> => {
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(bytes)
    await Promise.race([c.closed, waitFor(() => c.received().includes('\r\n\r\n'), 5000)])
    c.socket.destroy()
    return c.received()
  }
  const answers = [
    await raw('GET /elsewhere HTTP/1.1\r\nHost: a\r\n\r\n'),
    await raw('GET /elsewhere HTTP/1.1\r\nHost: a\r\n\r\n'),
    await raw('GET /api/%00 HTTP/1.1\r\nHost: a\r\n\r\n'),
    await raw(`GET /api/${'x'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`),
    await raw('GET /api HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n'),
    await raw(`GET /api HTTP/1.1\r\nHost: a\r\nX-Big: ${'y'.repeat(2000)}\r\n\r\n`),
    await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
    await raw('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
  ]
  t.strictSame(answers.map((a) => Number(a.slice(9, 12))), [404, 404, 400, 414, 400, 431, 501, 404], 'the answers')
  const ok = await fetch(`${gw.url}/api`)
  await ok.arrayBuffer()
  t.equal(ok.status, 200)
  const series = seriesOf(await gw.gateway.metrics!.render())
  const refused = Object.fromEntries(Object.entries(series).filter(([k]) => k.startsWith('switchyard_refused_requests_total{')))
  t.strictSame(refused, {
    [key('switchyard_refused_requests_total', { code: '404', error: 'no_route' })]: 3,
    [key('switchyard_refused_requests_total', { code: '400', error: 'bad_path' })]: 1,
    [key('switchyard_refused_requests_total', { code: '414', error: 'uri_too_long' })]: 1,
    [key('switchyard_refused_requests_total', { code: '400', error: 'bad_request' })]: 1,
    [key('switchyard_refused_requests_total', { code: '431', error: 'headers_too_large' })]: 1,
    [key('switchyard_refused_requests_total', { code: '501', error: 'method_not_implemented' })]: 1,
  }, 'each refusal once; the routed request is not among them')
  const parserLines = gw.accessLogs().filter((l) => l.requestId === undefined)
  t.strictSame(parserLines.map((l) => [l.status, l.error]).sort(), [[400, 'bad_request'], [431, 'headers_too_large']], "the parser's refusals have a line each")
  t.ok(parserLines.every((l) => l.remoteAddress === '127.0.0.1'), 'naming the client')
  t.ok(parserLines.every((l) => l.clientIp === '127.0.0.1'), 'in clientIp too, as a request\'s line does (review r41e)')
})
