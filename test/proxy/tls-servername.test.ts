// With the client's Host preserved, the upstream certificate is still verified against the target's name
// (or the pool's tls.servername), never against the Host header the client sent.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream } from './setup.ts'

const dir = t.testdir({})

/** A self-signed certificate for localhost (CN and subjectAltName), made at test time. */
function selfSigned (name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`)
  const cert = join(dir, `${name}.crt`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert, '-days', '1'], { stdio: 'ignore' })
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') }
}

const trusted = selfSigned('trusted')
const other = selfSigned('other')
const routes = [{ path: '/', pool: 's' }]
const CLIENT_HOST = 'api.example.com'

t.test('the certificate is verified against the target name, not the client Host', async (t) => {
  const secure = await upstream(t, 'secure', { tls: trusted })
  const gw = await gateway(t, {
    pools: { s: { targets: [`https://localhost:${secure.port}`], tls: { ca: trusted.cert } } },
    routes,
  })
  const res = await httpRequest(gw.url + '/x', { headers: { host: CLIENT_HOST } })
  t.equal(res.status, 200)
  t.equal(res.echo().name, 'secure')
  t.equal(res.echo().headers.host, CLIENT_HOST, 'the client Host was preserved upstream')
})

t.test('an IP target verifies against tls.servername, not the client Host', async (t) => {
  const secure = await upstream(t, 'secure', { tls: trusted })
  const gw = await gateway(t, {
    pools: { s: { targets: [secure.url], tls: { ca: trusted.cert, servername: 'localhost' } } },
    routes,
  })
  t.match(secure.url, /^https:\/\/127\.0\.0\.1:/)
  const res = await httpRequest(gw.url + '/x', { headers: { host: CLIENT_HOST } })
  t.equal(res.status, 200)
  t.equal(res.echo().headers.host, CLIENT_HOST)
})

t.test('preserveHost: false with a named target verifies too', async (t) => {
  const secure = await upstream(t, 'secure', { tls: trusted })
  const gw = await gateway(t, {
    pools: { s: { targets: [`https://localhost:${secure.port}`], tls: { ca: trusted.cert }, preserveHost: false } },
    routes,
  })
  const res = await httpRequest(gw.url + '/x', { headers: { host: CLIENT_HOST } })
  t.equal(res.status, 200)
  t.equal(res.echo().headers.host, `localhost:${secure.port}`, "the target's host is sent instead")
})

t.test('a CA that did not sign the certificate makes the upstream unreachable', async (t) => {
  const secure = await upstream(t, 'secure', { tls: trusted })
  const gw = await gateway(t, {
    pools: { s: { targets: [`https://localhost:${secure.port}`], tls: { ca: other.cert } } },
    routes,
  })
  const res = await httpRequest(gw.url + '/x', { headers: { host: CLIENT_HOST } })
  t.equal(res.status, 502)
  t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
  t.equal(secure.hits, 0, 'no request was sent over the unverified connection')
})

t.test('a CA that did not sign the certificate fails with tls.servername as well', async (t) => {
  const secure = await upstream(t, 'secure', { tls: trusted })
  const gw = await gateway(t, {
    pools: { s: { targets: [secure.url], tls: { ca: other.cert, servername: 'localhost' } } },
    routes,
  })
  const res = await httpRequest(gw.url + '/x', { headers: { host: CLIENT_HOST } })
  t.equal(res.status, 502)
  t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
  t.equal(secure.hits, 0)
})
