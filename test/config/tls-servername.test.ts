// pools.*.tls.servername is checked at load with routes[].host's rule: a port, a space or an empty string (no
// certificate can name it) loaded, passed `switchyard check`, and every request to the pool failed with 502. An IP
// address is kept, as nginx's proxy_ssl_name keeps one: the certificate is checked against it, and no SNI is sent
// (RFC 6066 §3), where it used to be sent as the SNI.
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest, type ErrorBody } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'
import { baseConfig, problemPaths, problemsOf } from './problems.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

const withServername = (servername: string): Record<string, unknown> =>
  baseConfig({ pools: { a: { targets: ['https://127.0.0.1:1'], tls: { servername } } } })

t.test('host names, IPv4 addresses and bracketed IPv6 addresses are accepted', async (t) => {
  const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`
  for (const name of ['api.internal', 'API.Internal.', 'localhost', 'svc_x.ns.svc.cluster.local', '127.0.0.1', '[::1]', '[2001:db8::1]', longest, `${longest}.`]) {
    t.strictSame(problemPaths(withServername(name)), [], name.slice(0, 40))
  }
})

t.test('what no certificate can name is refused, at the field', async (t) => {
  const cases: Array<[name: string, message: RegExp]> = [
    ['', /leave servername out/],
    ['api.internal:443', /must not carry a port.*write 'api\.internal'/],
    ['[::1]:443', /must not carry a port.*write '\[::1\]'/],
    ['api internal', /no spaces/],
    ['a b', /no spaces/],
    [' api.internal', /write 'api\.internal'/],
    ['https://api.internal', /not a URL \(write 'api\.internal'\)/],
    ['api.internal/x', /without a path/],
    ['*.internal', /wildcards are not supported/],
    ['::1', /in brackets \('\[::1\]'\)/],
    ['[nope]', /IPv6 address in brackets/],
    ['a..b', /labels separated by single dots/],
    ['a%b', /labels separated by single dots/],
    [`${'a'.repeat(250)}.com`, /at most 253 characters/],
  ]
  for (const [name, message] of cases) {
    t.strictSame(problemPaths(withServername(name)), ['pools.a.tls.servername'], JSON.stringify(name.slice(0, 40)))
    t.match(problemsOf(withServername(name))[0], message, JSON.stringify(name.slice(0, 40)))
  }
})

t.test('every bad servername is reported, each with its pool', async (t) => {
  const config = baseConfig({
    pools: {
      a: { targets: ['https://127.0.0.1:1'], tls: { servername: 'api.internal:443' } },
      b: { targets: ['https://127.0.0.1:2'], tls: { servername: 'a b' } },
      c: { targets: ['https://127.0.0.1:3'], tls: { servername: 'fine.internal' } },
    },
  })
  t.strictSame(problemPaths(config), ['pools.a.tls.servername', 'pools.b.tls.servername'])
})

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const forAddress = certs.leaf('ip', ca, 'IP:127.0.0.1')
const forName = certs.leaf('name', ca, 'DNS:localhost')
const routes = [{ path: '/', pool: 's' }]

/** The SNI of every TLS connection the upstream accepted (false or null: none sent). */
function servernames (u: TestUpstream): (string | false | null)[] {
  const names: (string | false | null)[] = []
  u.server.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername))
  return names
}

t.test('an address as servername: the certificate is verified against it, and no SNI is sent', async (t) => {
  const secure = await upstream(t, 'secure', { tls: forAddress })
  const sent = servernames(secure)
  // by address and by name: the target's host name is not sent as SNI in its place either
  for (const target of [secure.url, `https://localhost:${secure.port}`]) {
    const gw = await gateway(t, { pools: { s: { targets: [target], tls: { ca: ca.cert, servername: '127.0.0.1' } } }, routes })
    const res = await httpRequest(gw.url + '/x', { headers: { host: 'api.example.com' } })
    t.equal(res.status, 200, target)
  }
  t.equal(sent.length, 2, 'one TLS connection per gateway')
  t.strictSame(sent.map((name) => name || undefined), [undefined, undefined], 'no SNI')
})

t.test('an address as servername: a certificate that does not name it is refused, even one naming the target host', async (t) => {
  const secure = await upstream(t, 'secure', { tls: forName })
  const gw = await gateway(t, { pools: { s: { targets: [`https://localhost:${secure.port}`], tls: { ca: ca.cert, servername: '127.0.0.1' } } }, routes })
  const res = await httpRequest(gw.url + '/x', { headers: { host: 'localhost' } })
  t.equal(res.status, 502)
  t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
  t.equal(secure.hits, 0, 'no request was sent over the unverified connection')
})

// wildcard in tls.servername is refused with what to do for a TLS name (the port is the target URL's; write the name
// the certificate is checked against), not a route's advice (a route matches its host on any port); and a route's
// host keeps its own.
t.test('tls-servername-hints', async (t) => {
  const withServername = (servername: string): Record<string, unknown> =>
    baseConfig({ pools: { a: { targets: ['https://127.0.0.1:1'], tls: { servername } } } })

  t.test('tls.servername: each problem says what to write for a TLS name', async (t) => {
    const cases: Array<[name: string, message: string]> = [
      ['api.internal:443', "must not carry a port: the port is the target URL's (write 'api.internal')"],
      ['[::1]:443', "must not carry a port: the port is the target URL's (write '[::1]')"],
      ['*.internal', "wildcards are not supported: write the name the upstream's certificate is checked against"],
      ['', "must be a host name (leave servername out to use the target's host name)"],
    ]
    for (const [name, message] of cases) {
      const problems = problemsOf(withServername(name))
      t.equal(problems.length, 1, JSON.stringify(name))
      t.ok(problems[0]!.endsWith(message), `${JSON.stringify(name)}: ${problems[0]}`)
      t.notMatch(problems[0], /route/, 'no route advice')
    }
  })
})

// (src/upstream/target.ts): a bracketed IPv6 address ('[::1]', written as in a URL) is checked without its brackets,
// against the certificate's IP entries, and sent as no SNI; and a reload that changes only which address the
// certificate is checked against rebuilds the connections with the new check (the check is a function, which the
// key of a target's connection settings must still tell apart).
t.test('tls-servername-ipv6-reload', async (t) => {
  const certs = new CertificateMaker()
  t.teardown(() => certs.remove())
  const ca = certs.ca('test-ca')
  const routes = [{ path: '/', pool: 's' }]

  t.test("'[::1]' as servername: the certificate is checked against ::1, and no SNI is sent", async (t) => {
    // served over IPv4: the name checked is the configured one, not the address connected to
    const secure = await upstream(t, 'secure', { tls: certs.leaf('ipv6', ca, 'IP:::1') })
    const sent: (string | false | null)[] = []
    secure.server.on('secureConnection', (socket: TLSSocket) => sent.push(socket.servername))
    const gw = await gateway(t, { pools: { s: { targets: [secure.url], tls: { ca: ca.cert, servername: '[::1]' } } }, routes })
    const res = await httpRequest(gw.url + '/x')
    t.equal(res.status, 200, 'verified against ::1')
    t.strictSame(sent.map((name) => name || undefined), [undefined], 'no SNI')
  })

  t.test('a reload changing only the address checked: the next connections check the new one', async (t) => {
    const secure = await upstream(t, 'secure', { tls: certs.leaf('ipv4', ca, 'IP:127.0.0.1') })
    const config = (servername: string): GatewayConfig => ({ pools: { s: { targets: [secure.url], tls: { ca: ca.cert, servername } } }, routes })
    let next = config('[::1]')
    const gw = await gateway(t, next, { load: async () => validateConfig(next) })
    t.equal((await httpRequest(gw.url + '/x')).status, 502, 'the certificate does not name ::1: refused')
    next = config('127.0.0.1')
    t.equal((await gw.gateway.reload()).result, 'success')
    t.equal((await httpRequest(gw.url + '/x')).status, 200, 'it names 127.0.0.1: served')
  })
})
