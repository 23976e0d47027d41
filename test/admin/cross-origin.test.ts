// A web page of another origin cannot act through the admin listener (a form's POST or a no-cors fetch needs no
// preflight) nor read its state: what the browser marks as cross-site, or an Origin other than the request's own
// Host, is refused with 403 forbidden_origin and changes nothing. The operator's own page (same origin) works.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function setup (t: Tap, extra: Partial<GatewayConfig> = {}) {
  const [p1, b1] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'b1' })])
  const gw = await startGateway({ pools: { pay: { targets: [p1.url, { url: b1.url, backup: true }] } }, routes: [{ path: '/', pool: 'pay', name: 'pay' }], ...extra }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await p1.close(); await b1.close() })
  return { gw, admin, host: new URL(admin).host, disable: `/pools/pay/targets/${encodeURIComponent(`127.0.0.1:${p1.port}`)}/disable` }
}

const FOREIGN: Record<string, Record<string, string>> = {
  'a cross-site form': { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example', 'content-type': 'text/plain' },
  'a same-site page (another port or subdomain)': { 'sec-fetch-site': 'same-site' },
  'an Origin of another host, no fetch metadata': { origin: 'http://evil.example' },
  'an opaque origin (sandboxed frame)': { origin: 'null' },
}

t.test('no token set: cross-origin POSTs and reads of state are 403 forbidden_origin and change nothing', async (t) => {
  const { gw, admin, disable } = await setup(t)
  const before = gw.gateway.status()
  for (const [label, headers] of Object.entries(FOREIGN)) {
    for (const [method, path] of [['POST', disable], ['POST', '/pools/pay/switchover'], ['POST', '/reload'], ['POST', '/routes/pay/canary'],
      ['GET', '/status'], ['GET', '/pools'], ['GET', '/events'], ['GET', '/history'], ['GET', '/live']] as const) {
      const res = await adminRequest(admin, method, path, headers, method === 'POST' ? 'a=b' : '')
      t.equal(res.status, 403, `${method} ${path}: ${label}`)
      t.equal(res.body.error, 'forbidden_origin', `${method} ${path}: ${label}`)
    }
  }
  t.strictSame(gw.gateway.status().pools, before.pools, 'nothing changed')
  t.equal(gw.gateway.status().configHash, before.configHash)
})

t.test('a token set: a cross-site request is refused even with the token', async (t) => {
  const token = 'admin-token-0123456789'
  const { admin, disable } = await setup(t, { admin: { token } })
  const res = await adminRequest(admin, 'POST', disable, { ...FOREIGN['a cross-site form'], authorization: `Bearer ${token}` })
  t.equal(res.status, 403)
  t.equal(res.body.error, 'forbidden_origin')
})

t.test('the same origin, tools without browser headers, and the page opened from a link elsewhere are served', async (t) => {
  const { admin, host, disable } = await setup(t)
  const page = { 'sec-fetch-site': 'same-origin', origin: `http://${host}` }
  t.equal((await adminRequest(admin, 'GET', '/status', { 'sec-fetch-site': 'same-origin' })).status, 200, 'the page reads /status')
  t.equal((await adminRequest(admin, 'POST', disable, page)).status, 200, 'the page acts')
  // (a switchover: with p1 disabled above, a failback would be refused 409 no_available_primary)
  t.equal((await adminRequest(admin, 'POST', '/pools/pay/switchover', { 'sec-fetch-site': 'none' })).status, 200, 'typed by the operator')
  t.equal((await adminRequest(admin, 'POST', '/pools/pay/switchover')).status, 200, 'curl')
  const localhost = `localhost:${new URL(admin).port}`
  t.equal((await adminRequest(admin, 'POST', '/pools/pay/switchover', { host: localhost, origin: `http://${localhost}` })).status, 200, 'the page opened at localhost')
  for (const path of ['/', '/dashboard/config.json', '/healthz', '/readyz', '/metrics']) {
    t.equal((await adminRequest(admin, 'GET', path, { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' })).status, 200, `GET ${path} from a link on another site`)
  }
})

t.test("the operator's page through a reverse proxy, and Firefox's Origin: null under no-referrer, are served", async (t) => {
  const { admin, disable } = await setup(t)
  // Sec-Fetch-Site decides where the browser sends it: the Host a proxy rewrote, or an opaque Origin, do not
  const proxied = { 'sec-fetch-site': 'same-origin', origin: 'https://gateway-admin.example.com' }
  t.equal((await adminRequest(admin, 'POST', disable, proxied)).status, 200, 'proxied: Origin is not the Host')
  t.equal((await adminRequest(admin, 'POST', '/pools/pay/switchover', { 'sec-fetch-site': 'same-origin', origin: 'null' })).status, 200, 'Origin: null, same-origin')
})

t.test('an Origin of another scheme than http(s), naming the listener\'s own host:port, is refused (no fetch metadata)', async (t) => {
  // an origin is scheme, host and port: a page served over ftp: or ws: is not the admin page, whatever host it names
  const { gw, admin, host } = await setup(t)
  const before = gw.gateway.status()
  for (const origin of [`ftp://${host}`, `ws://${host}`]) {
    for (const [method, path] of [['POST', '/pools/pay/switchover'], ['GET', '/status']] as const) {
      const res = await adminRequest(admin, method, path, { origin })
      t.equal(res.status, 403, `${method} ${path}: Origin ${origin}`)
      t.equal(res.body.error, 'forbidden_origin', `${method} ${path}: Origin ${origin}`)
    }
  }
  t.strictSame(gw.gateway.status().pools, before.pools, 'nothing changed')
})

t.test('a token set: an Origin is not matched against the host a Host with userinfo or a path ends with', async (t) => {
  // `admin@evil.example` or `127.0.0.1/@evil.example` is no Host (RFC 9110 §7.2); read as a URL it names evil.example,
  // which must not make a page of http://evil.example the listener's own origin
  const token = 'admin-token-0123456789'
  const { admin, port } = await setup(t, { admin: { token } }).then((s) => ({ ...s, port: new URL(s.admin).port }))
  for (const host of [`admin@evil.example:${port}`, `127.0.0.1:${port}/@evil.example:${port}`]) {
    const res = await adminRequest(admin, 'POST', '/pools/pay/failback', { host, origin: `http://evil.example:${port}`, authorization: `Bearer ${token}` })
    t.equal(res.status, 403, `Host ${host}`)
    t.equal(res.body.error, 'forbidden_origin', `Host ${host}`)
  }
})
