// The TRACE echo (RFC 9110 §9.3.8, Max-Forwards: 0 answered here) leaves out fields named like credentials whatever
// the spelling of their names: field names are case-insensitive (RFC 9110 §5.1), and clients send 'X-Api-Key' and
// 'Authorization', not the lower-case names the other TRACE tests send through undici. The echo keeps each name as it
// came (rawHeaders), so the credential pattern must be matched against the lower-cased name, not the raw one.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from '../proxy/raw.ts'

t.test('credential-like fields in mixed or upper case are left out of the echo; the rest are kept as spelled', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const credentials = ['X-Api-Key: k1', 'X-Auth-Token: k2', 'X-CSRF-Token: k3', 'X-Session-Id: k4', 'X-Client-Secret: k5', 'X-Amz-Security-Token: k6', 'COOKIE: k7', 'Authorization: Bearer k8']
  const res = await rawRequest(portOf(gw.url), ['TRACE /api/x HTTP/1.1', 'Host: a.example', 'Max-Forwards: 0', 'X-Probe: yes', ...credentials, '', ''].join('\r\n'))
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'message/http')
  const echo = res.body.toString('latin1')
  for (const line of credentials) {
    const name = line.slice(0, line.indexOf(':'))
    t.notMatch(echo, new RegExp(`\\r\\n${name}:`, 'i'), `${name} is left out`)
  }
  t.notMatch(echo, /k\d/, 'no credential value')
  t.match(echo, /\r\nX-Probe: yes\r\n/, 'another field is echoed as spelled')
  t.equal(u.requests.length, 0, 'not forwarded')
})
