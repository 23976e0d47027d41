// Max-Forwards (RFC 9110 §7.6.2): for TRACE and OPTIONS the gateway decrements it, and at 0 answers as the final
// recipient instead of forwarding (TRACE echoes the request without credentials, §9.3.8; OPTIONS lists the route's
// methods, §9.3.7). Other methods pass it on unchanged; a TRACE or OPTIONS value that is not a number is a 400.
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

async function setup (t: Test): Promise<{ url: string; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/rw', pool: 'p', methods: ['POST', 'GET', 'OPTIONS'] }, { path: '/api', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { url: gw.url, u }
}

t.test('TRACE with Max-Forwards: 0 is answered here, echoing the request without its credentials', async (t) => {
  const { url, u } = await setup(t)
  const res = await request(`${url}/api/x`, { method: 'TRACE', headers: { 'max-forwards': '0', 'x-probe': 'yes', cookie: 'session=secret', authorization: 'Bearer secret' } })
  const body = await res.body.text()
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'message/http')
  t.match(body, /^TRACE \/api\/x HTTP\/1\.1\r\n/)
  t.match(body, /\r\nx-probe: yes\r\n/i)
  t.notMatch(body, /secret/)
  t.equal(u.requests.length, 0, 'not forwarded')
})

// RFC 9110 §9.3.8: the final recipient SHOULD exclude fields likely to hold sensitive data, not only Cookie and
// Authorization: API keys, auth and CSRF tokens, session ids (an edge proxy may have added one the client never saw)
t.test('the TRACE echo leaves out every field named like a credential, and keeps the rest', async (t) => {
  const { url, u } = await setup(t)
  const credentials = {
    'x-api-key': 'k1', 'x-auth-token': 'k2', 'x-csrf-token': 'k3', 'x-xsrf-token': 'k4', 'x-session-id': 'k5', 'proxy-authorization': 'Basic k6',
    'x-amz-security-token': 'k7', 'x-goog-iap-jwt-assertion': 'k8', 'x-client-secret': 'k9', 'x-user-password': 'k10', 'x-hub-signature': 'k11', cookie: 'k12',
  }
  const res = await request(`${url}/api/x`, { method: 'TRACE', headers: { 'max-forwards': '0', 'x-probe': 'yes', 'user-agent': 'probe/1', ...credentials } })
  const body = await res.body.text()
  t.equal(res.statusCode, 200)
  for (const name of Object.keys(credentials)) t.notMatch(body, new RegExp(`\\r\\n${name}:`, 'i'), `${name} is left out`)
  t.notMatch(body, /k\d/, 'no credential value')
  t.match(body, /\r\nx-probe: yes\r\n/i)
  t.match(body, /\r\nuser-agent: probe\/1\r\n/i)
  t.match(body, /\r\nmax-forwards: 0\r\n/i)
  t.equal(u.requests.length, 0, 'not forwarded')
})

t.test('OPTIONS with Max-Forwards: 0 is answered here with the route\'s methods', async (t) => {
  const { url, u } = await setup(t)
  const res = await request(`${url}/rw`, { method: 'OPTIONS', headers: { 'max-forwards': '0' } })
  await res.body.dump()
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], '0')
  t.strictSame(String(res.headers.allow).split(', ').sort(), ['GET', 'OPTIONS', 'POST'])
  t.equal(u.requests.length, 0, 'not forwarded')
})

t.test('TRACE and OPTIONS above 0 are forwarded with the value less one', async (t) => {
  const { url, u } = await setup(t)
  for (const method of ['TRACE', 'OPTIONS']) {
    const res = await request(`${url}/api`, { method, headers: { 'max-forwards': '3' } })
    await res.body.dump()
    t.equal(res.statusCode, 200)
  }
  t.strictSame(u.requests.map((r) => [r.method, r.headers['max-forwards']]), [['TRACE', '2'], ['OPTIONS', '2']])
})

t.test('other methods pass Max-Forwards on unchanged, 0 included', async (t) => {
  const { url, u } = await setup(t)
  const res = await request(`${url}/api`, { headers: { 'max-forwards': '0' } })
  await res.body.dump()
  t.equal(res.statusCode, 200)
  t.equal(u.requests[0]?.headers['max-forwards'], '0')
})

t.test('a TRACE whose Max-Forwards is not a number is a 400, not forwarded', async (t) => {
  const { url, u } = await setup(t)
  const res = await request(`${url}/api`, { method: 'TRACE', headers: { 'max-forwards': 'ten' } })
  const body = await res.body.json() as { error: string }
  t.equal(res.statusCode, 400)
  t.equal(body.error, 'bad_request')
  t.equal(u.requests.length, 0)
})

// RFC 9110 §7.6.2 (b): a recipient forwards the lesser of its own maximum and the received value less one. The
// gateway's maximum is 255: a huge hop count must not go on unbounded, nor be cut lower than 255.
t.test('TRACE and OPTIONS with a Max-Forwards above 255 are forwarded with 255', async (t) => {
  const { url, u } = await setup(t)
  for (const [method, value] of [['TRACE', '1000'], ['OPTIONS', '256']] as const) {
    const res = await request(`${url}/api`, { method, headers: { 'max-forwards': value } })
    await res.body.dump()
    t.equal(res.statusCode, 200)
  }
  t.strictSame(u.requests.map((r) => r.headers['max-forwards']), ['255', '255'])
})

// 1 is the last hop count that still goes upstream (as 0); only 0 itself is answered here
t.test('TRACE with Max-Forwards: 1 is forwarded with 0, not answered here', async (t) => {
  const { url, u } = await setup(t)
  const res = await request(`${url}/api`, { method: 'TRACE', headers: { 'max-forwards': '1' } })
  await res.body.dump()
  t.equal(res.statusCode, 200)
  t.strictSame(u.requests.map((r) => r.headers['max-forwards']), ['0'])
})

// a value that starts with digits but is not one number ('10x') is no hop count either: a 400, not forwarded
t.test('an OPTIONS whose Max-Forwards has trailing garbage is a 400, not forwarded', async (t) => {
  const { url, u } = await setup(t)
  const res = await request(`${url}/api`, { method: 'OPTIONS', headers: { 'max-forwards': '10x' } })
  const body = await res.body.json() as { error: string }
  t.equal(res.statusCode, 400)
  t.equal(body.error, 'bad_request')
  t.equal(u.requests.length, 0)
})
