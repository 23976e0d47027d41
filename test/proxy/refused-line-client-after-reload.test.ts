// server.trustedProxies is reloadable, and a reload applies it to every access-log line's client address, including
// the lines of requests and upgrades refused before admission (414 uri_too_long): those are given their clientIp by
// ProxyHandler's own client-address function (src/proxy/forward.ts #clientIp, set again by configureFront), not by an
// admission. A gateway put behind a proxy by a reload must name the client the proxy's X-Forwarded-For names on those
// lines as on the others (nginx's $remote_addr with set_real_ip_from, reloaded with the config). Without the reload's
// refresh, a refused line kept naming the proxy while the routed lines named the client.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawHandshake, rawRequest } from './raw.ts'
import { wsHandshake } from './ws-tunnel.ts'

const XFF = '198.51.100.9, 203.0.113.7'

t.test('after a reload that trusts the peer, a refused request\'s and a refused upgrade\'s lines name the forwarded client', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = (trustedProxies: string[]): GatewayConfig => ({
    server: { trustedProxies, maxUrlBytes: 256 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config([])
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(() => gw.close())
  const port = portOf(gw.url)
  const line = async (requestId: string) => {
    await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
    return gw.accessLogs().find((l) => l.requestId === requestId)!
  }
  const long = `/${'a'.repeat(300)}`

  // before: the peer is not trusted, its header not believed
  t.equal((await rawRequest(port, `GET ${long} HTTP/1.1\r\nHost: a\r\nX-Request-Id: before\r\nX-Forwarded-For: ${XFF}\r\n\r\n`)).status, 414)
  t.equal((await line('before')).clientIp, '127.0.0.1')

  next = config(['127.0.0.1'])
  t.equal((await gw.gateway.reload('admin')).result, 'success')

  t.equal((await rawRequest(port, `GET /x HTTP/1.1\r\nHost: a\r\nX-Request-Id: routed\r\nX-Forwarded-For: ${XFF}\r\n\r\n`)).status, 200)
  t.equal((await line('routed')).clientIp, '203.0.113.7', 'a routed line: the client the proxy names')
  t.equal((await rawRequest(port, `GET ${long} HTTP/1.1\r\nHost: a\r\nX-Request-Id: refused\r\nX-Forwarded-For: ${XFF}\r\n\r\n`)).status, 414)
  t.match(await line('refused'), { status: 414, error: 'uri_too_long', clientIp: '203.0.113.7' }, 'a request refused before admission: the same')
  const handshake = wsHandshake(`/ws${long}`, 'refused-ws').replace('\r\n\r\n', `\r\nX-Forwarded-For: ${XFF}\r\n\r\n`)
  const ws = await rawHandshake(port, handshake)
  ws.socket.destroy()
  t.equal(ws.response.status, 414)
  t.match(await line('refused-ws'), { status: 414, upgrade: true, clientIp: '203.0.113.7' }, 'an upgrade refused before admission: the same')
})
