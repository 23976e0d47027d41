// pools.*.tls.ca must be PEM certificates Node can read: any other text (a file path is the usual slip) was
// accepted, trusted nothing, and every request to the pool failed verification (502).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const dir = t.testdir({})
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
  '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1'], { stdio: 'ignore' })
const cert = readFileSync(join(dir, 'c.pem'), 'utf8')

const withCa = (ca: string): Record<string, unknown> => baseConfig({ pools: { a: { targets: ['https://127.0.0.1:1'], tls: { ca } } } })

t.test('a PEM certificate, or a bundle of them with comments between, is accepted', async (t) => {
  t.strictSame(problemPaths(withCa(cert)), [])
  t.strictSame(problemPaths(withCa(`# Issuer: test one\n${cert}\n# Issuer: test two\n${cert}`)), [])
})

t.test('text that holds no certificate is refused', async (t) => {
  for (const ca of ['', 'garbage', join(dir, 'c.pem'), './certs/ca.pem', readFileSync(join(dir, 'k.pem'), 'utf8')]) {
    t.strictSame(problemPaths(withCa(ca)), ['pools.a.tls.ca'], JSON.stringify(ca.slice(0, 40)))
  }
})

t.test('a certificate block that is not a readable certificate is refused', async (t) => {
  const broken = cert.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!')
  t.strictSame(problemPaths(withCa(broken)), ['pools.a.tls.ca'])
  t.strictSame(problemPaths(withCa(`${cert}\n${broken}`)), ['pools.a.tls.ca'], 'one bad certificate in a bundle')
})
