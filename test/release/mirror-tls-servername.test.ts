// Shadow copies to an HTTPS mirror target are named by the target (its TLS name; for an IP address, the address:
// no SNI, RFC 6066 §3), as the pool's own requests are (test/proxy/tls-ip-target-name.test.ts), never by the
// client's Host that each copy preserves. undici names a request by its Host when the request does not name it, and
// drops a pooled TLS connection whenever the next request's name differs ("servername changed"): copies of requests
// for different Hosts would each cost the mirror target a new TLS handshake.
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const forAddress = certs.leaf('ip', ca, 'IP:127.0.0.1')

t.test("copies for different Hosts keep the mirror target's pooled TLS connection", async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow', { tls: forAddress })
  const sni: (string | false | null)[] = []
  shadow.server.on('secureConnection', (socket: TLSSocket) => sni.push(socket.servername))
  t.match(shadow.url, /^https:\/\/127\.0\.0\.1:/)
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url], tls: { ca: ca.cert } } },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow' } }],
  }, { defaultMetrics: false, env: {} })
  const mirrored = async (outcome: string): Promise<number | undefined> =>
    seriesOf(await gw.gateway.metrics!.render())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

  const hosts = ['api.example.com', 'shop.example.com', 'api.example.com']
  for (const [i, host] of hosts.entries()) {
    t.equal((await httpRequest(`${gw.url}/api/${i}`, { headers: { host } })).status, 200)
    await waitFor(async () => ((await mirrored('sent')) ?? 0) + ((await mirrored('failed')) ?? 0) === i + 1)
  }
  t.equal(await mirrored('sent'), hosts.length, 'every copy was delivered')
  t.strictSame(shadow.requests.map((r) => r.headers.host), hosts, "each with its client's Host preserved")
  t.equal(sni.length, 1, 'over one TLS connection')
  t.notOk(sni[0], 'no SNI for an IP address')
})
