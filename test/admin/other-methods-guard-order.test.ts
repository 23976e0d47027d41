// A method a path does not take is guarded as the path's GET, in the same order (src/admin/server.ts's onRequest):
// with no token set, an open path (/metrics, the dashboard's page and assets) asked under a Host the listener does
// not serve is 403 forbidden_origin whatever the method, as its GET is, never a 405 that tells a rebinding page what
// the path takes; a probe answers any Host. What the router itself refuses (a parameter over the limit) is refused
// before any of those checks, for every method as for the POST whose route it is (Fastify's frameworkErrors run
// before any hook): 414 under a foreign Host, without the token, from another origin alike.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const TOKEN = 'guard-order-token-0123456789'

async function setup (t: Tap, token: boolean) {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ ...(token ? { admin: { token: TOKEN } } : {}), pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { admin, port: new URL(admin).port }
}

t.test('no token: an open path under a foreign Host is 403 for every method, as its GET; a probe is 405', async (t) => {
  const { admin, port } = await setup(t, false)
  const evil = { host: `rebind.evil.example:${port}` }
  t.equal((await httpRequest(`${admin}/metrics`, { headers: evil })).status, 403, 'GET /metrics (its GET)')
  for (const path of ['/metrics', '/', '/dashboard/app.js', '/dashboard/config.json']) {
    for (const method of ['PUT', 'POST', 'DELETE', 'OPTIONS']) {
      const res = await httpRequest(admin + path, { method, headers: evil })
      t.equal(res.status, 403, `${method} ${path}`)
      t.equal(res.headers.allow, undefined, `${method} ${path}: no Allow`)
    }
    // under a Host it serves, the same calls are 405 and 204 with Allow
    t.equal((await httpRequest(admin + path, { method: 'PUT', headers: { host: `127.0.0.1:${port}` } })).status, 405, `PUT ${path} under its own Host`)
    const options = await httpRequest(admin + path, { method: 'OPTIONS', headers: { host: `localhost:${port}` } })
    t.equal(options.status, 204, `OPTIONS ${path} under its own Host`)
    t.equal(options.headers.allow, 'GET, HEAD, OPTIONS')
  }
  for (const path of ['/healthz', '/readyz']) {
    const res = await httpRequest(admin + path, { method: 'PUT', headers: evil })
    t.equal(res.status, 405, `PUT ${path}: a probe answers any Host`)
    t.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
  }
})

t.test('a parameter over the router\'s limit is 414 for every method before the Host, origin and token checks', async (t) => {
  const long = `/routes/${'a'.repeat(3000)}/canary`
  const cases: Array<[name: string, token: boolean, headers: (port: string) => Record<string, string>]> = [
    ['no token set, a foreign Host', false, (port) => ({ host: `rebind.evil.example:${port}` })],
    ['a token set, none sent', true, (port) => ({ host: `127.0.0.1:${port}` })],
    ['a token set, a wrong one sent', true, (port) => ({ host: `127.0.0.1:${port}`, authorization: 'Bearer not-the-token-0123456789' })],
    ['a token set, from another origin', true, (port) => ({ host: `127.0.0.1:${port}`, authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' })],
  ]
  for (const [name, token, headers] of cases) {
    const { admin, port } = await setup(t, token)
    for (const method of ['POST', 'DELETE', 'PUT', 'GET', 'OPTIONS']) {
      const res = await httpRequest(admin + long, { method, headers: headers(port) })
      t.equal(res.status, 414, `${name}: ${method}`)
      t.equal(res.json<{ error: string }>().error, 'uri_too_long', `${name}: ${method}: the catalogue's code`)
    }
  }
})
