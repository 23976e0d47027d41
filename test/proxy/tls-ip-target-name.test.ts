// An https target given by IP address: no SNI is sent (RFC 6066 §3) and its certificate is checked against the
// address, never against the Host header a client sends; and a client's Host changing from one request to the next
// keeps the pooled TLS connection. An IPv6 address ([::1]) is an address too: no SNI, its certificate names it.
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream } from './setup.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const forAddress = certs.leaf('ip', ca, 'IP:127.0.0.1')
const forIpv6 = certs.leaf('ipv6', ca, 'IP:::1')
const forOtherName = certs.leaf('other', ca, 'DNS:other.example')
const routes = [{ path: '/', pool: 's' }]

/** The SNI of every TLS connection the upstream accepted (false or null: none sent). */
function servernames (u: TestUpstream): (string | false | null)[] {
  const names: (string | false | null)[] = []
  u.server.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername))
  return names
}

t.test('a certificate naming the target address verifies, whatever Host the client sends', async (t) => {
  const secure = await upstream(t, 'secure', { tls: forAddress })
  const sent = servernames(secure)
  t.match(secure.url, /^https:\/\/127\.0\.0\.1:/)
  const gw = await gateway(t, { pools: { s: { targets: [secure.url], tls: { ca: ca.cert } } }, routes })
  const res = await httpRequest(gw.url + '/x', { headers: { host: 'api.example.com' } })
  t.equal(res.status, 200)
  t.equal(res.json<{ headers?: { host?: string } }>().headers?.host, 'api.example.com', 'the client Host was preserved upstream')
  t.equal(sent.length, 1, 'one TLS connection')
  t.notOk(sent[0], 'no SNI for an IP address')
})

t.test('a certificate for another name at the target address is refused, whatever Host the client sends', async (t) => {
  const secure = await upstream(t, 'secure', { tls: forOtherName })
  const gw = await gateway(t, { pools: { s: { targets: [secure.url], tls: { ca: ca.cert } } }, routes })
  for (const host of ['other.example', 'api.example.com']) {
    const res = await httpRequest(gw.url + '/x', { headers: { host } })
    t.equal(res.status, 502, `Host ${host}`)
    t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
  }
  t.equal(secure.hits, 0, 'no request was sent over the unverified connection')
})

t.test('requests with different client Hosts share one TLS connection to an IP target', async (t) => {
  const secure = await upstream(t, 'secure', { tls: forAddress })
  const sent = servernames(secure)
  // verification off: this is about the pooled connection only (undici drops it when a request's TLS name changes)
  const gw = await gateway(t, { pools: { s: { targets: [secure.url], tls: { rejectUnauthorized: false } } }, routes })
  const statuses: number[] = []
  for (let i = 0; i < 10; i++) statuses.push((await httpRequest(gw.url + '/x', { headers: { host: i % 2 === 0 ? 'a.example' : 'b.example' } })).status)
  t.strictSame(statuses, Array(10).fill(200))
  t.equal(sent.length, 1, 'one TLS handshake for ten requests')
})

/** Whether this host has an IPv6 loopback address to listen on (a container may have none). */
const ipv6 = await new Promise<boolean>((resolve) => {
  const probe = createTcpServer()
  probe.once('error', () => resolve(false))
  probe.listen(0, '::1', () => probe.close(() => resolve(true)))
})

t.test('an IPv6 target address: no SNI, and a certificate naming the address verifies', { skip: ipv6 ? false : 'no IPv6 loopback here' }, async (t) => {
  const sent: (string | false | null)[] = []
  const server = createHttpsServer({ key: forIpv6.key, cert: forIpv6.cert }, (_req, res) => res.end('v6'))
  server.on('secureConnection', (socket: TLSSocket) => sent.push(socket.servername))
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve))
  t.teardown(() => { server.closeAllConnections(); return new Promise<void>((resolve) => server.close(() => resolve())) })
  const url = `https://[::1]:${(server.address() as AddressInfo).port}`
  const gw = await gateway(t, { pools: { s: { targets: [url], tls: { ca: ca.cert } } }, routes })
  const res = await httpRequest(gw.url + '/x', { headers: { host: 'api.example.com' } })
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'v6')
  t.equal(sent.length, 1, 'one TLS connection')
  t.notOk(sent[0], 'no SNI for an IP address')
})
