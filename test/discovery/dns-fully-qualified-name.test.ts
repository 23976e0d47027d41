// A discovered name written fully qualified, with its root dot ('svc.example.internal.': the schema accepts it and
// discovery reads it as the same name, and operators write it to skip resolver search domains) is sent without the
// dot: as the Host a pool with preserveHost false sends, and as the TLS SNI (RFC 6066 §3: "without a trailing
// dot"). An upstream's virtual hosts (Envoy matches Host without stripping a trailing dot by default) and its
// certificate name the host without it. (src/upstream/target.ts, the constructor: withoutRootDot.)
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const leaf = certs.leaf('svc', ca, 'DNS:svc.example.internal')

t.test('a discovered name with its root dot goes without it in Host and SNI', async (t) => {
  const u = await TestUpstream.start({ name: 'u', tls: leaf })
  t.teardown(() => u.close())
  const sni: Array<string | false | null> = []
  u.server.on('secureConnection', (socket: TLSSocket) => sni.push(socket.servername))
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set('svc.example.internal.', { a: ['127.0.0.1'] })
  const gw = await startGateway({
    pools: { p: { targets: [{ dns: 'svc.example.internal.', port: u.port, protocol: 'https' }], tls: { ca: ca.cert }, preserveHost: false } },
    routes: [{ path: '/', pool: 'p' }],
  }, { dnsServers: [dns.address], defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.status().pools.p!.targets.length === 1)

  const res = await fetch(`${gw.url}/x`)
  await res.text()
  t.equal(res.status, 200)
  t.equal(u.requests.at(-1)?.headers.host, `svc.example.internal:${u.port}`, 'Host: the name without its root dot')
  t.ok(sni.length > 0 && sni.every((name) => name === 'svc.example.internal'), `SNI without the root dot (${JSON.stringify(sni)})`)
})
