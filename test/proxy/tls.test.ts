// HTTPS upstreams: certificates are verified by default; a pool trusts a CA or opts out explicitly.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream } from './setup.ts'

// one self-signed certificate for the whole file, made at test time
const dir = t.testdir({})
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
  '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '1'], { stdio: 'ignore' })
const key = readFileSync(join(dir, 'k'), 'utf8')
const cert = readFileSync(join(dir, 'c'), 'utf8')

t.test('an untrusted certificate makes the upstream unreachable (default pool)', async (t) => {
  const secure = await upstream(t, 'secure', { tls: { key, cert } })
  t.match(secure.url, /^https:/)
  const gw = await gateway(t, { pools: { s: { targets: [secure.url] } }, routes: [{ path: '/', pool: 's' }] })
  const res = await httpRequest(gw.url + '/x')
  t.equal(res.status, 502)
  t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
  t.equal(secure.hits, 0, 'no request was sent over the unverified connection')
})

t.test('rejectUnauthorized: false accepts the certificate', async (t) => {
  const secure = await upstream(t, 'secure', { tls: { key, cert } })
  const gw = await gateway(t, { pools: { s: { targets: [secure.url], tls: { rejectUnauthorized: false } } }, routes: [{ path: '/', pool: 's' }] })
  const res = await httpRequest(gw.url + '/x?y=1', { method: 'POST', body: 'over tls' })
  t.equal(res.status, 200)
  t.equal(res.echo().name, 'secure')
  t.equal(res.echo().url, '/x?y=1')
  t.equal(res.echo().bodyBytes, 8)
  t.equal((await httpRequest(gw.url + `/dl?bytes=${1024 * 1024}`)).body.length, 1024 * 1024, 'a body streams over TLS')
})

t.test('a pool CA with the certificate name verifies the upstream', async (t) => {
  const secure = await upstream(t, 'secure', { tls: { key, cert } })
  const gw = await gateway(t, { pools: { s: { targets: [secure.url], tls: { ca: cert, servername: 'localhost' } } }, routes: [{ path: '/', pool: 's' }] })
  const res = await httpRequest(gw.url + '/x')
  t.equal(res.status, 200)
  t.equal(res.echo().name, 'secure')
})

t.test('a trusted CA does not excuse a name mismatch', async (t) => {
  const secure = await upstream(t, 'secure', { tls: { key, cert } })
  // the target is 127.0.0.1, the certificate names localhost
  const gw = await gateway(t, { pools: { s: { targets: [secure.url], tls: { ca: cert } } }, routes: [{ path: '/', pool: 's' }] })
  const res = await httpRequest(gw.url + '/x')
  t.equal(res.status, 502)
  t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
  t.equal(secure.hits, 0)
})
