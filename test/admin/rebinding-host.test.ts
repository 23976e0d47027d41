// DNS rebinding: a page on a domain of its own that comes to resolve to the admin listener's address is, for the
// browser, its own origin, and carries its domain in Host. With no token set, the admin listener serves only Host
// names that are IP literals or `localhost` on a loopback listener (403 forbidden_origin otherwise); /healthz and
// /readyz answer whatever the Host. With a token set the token is the defence, and any Host is served.
import t from 'tap'
import pino from 'pino'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { buildAdmin, type AdminContext } from '../../src/admin/server.ts'
import type { StatusDocument } from '../../src/admin/status-types.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function setup (t: Tap, extra: Partial<GatewayConfig> = {}) {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], ...extra }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, admin, port: new URL(admin).port }
}

t.test('no token: a domain name in Host is refused (reads, actions, the page), probes still answer', async (t) => {
  const { gw, admin, port } = await setup(t)
  const evil = { host: `rebind.evil.example:${port}`, 'sec-fetch-site': 'same-origin' }
  for (const [method, path] of [['GET', '/status'], ['GET', '/pools'], ['GET', '/events'], ['GET', '/history'], ['GET', '/live'], ['GET', '/metrics'], ['GET', '/'],
    ['POST', '/pools/pay/failback'], ['POST', '/reload']] as const) {
    const res = await adminRequest(admin, method, path, method === 'POST' ? { ...evil, origin: `http://${evil.host}` } : evil)
    t.equal(res.status, 403, `${method} ${path}`)
    t.equal(res.body.error, 'forbidden_origin', `${method} ${path}`)
  }
  t.equal(gw.logs.filter((l) => l.msg === 'config reloaded').length, 0, 'no reload ran')
  for (const path of ['/healthz', '/readyz']) t.equal((await adminRequest(admin, 'GET', path, evil)).status, 200, `GET ${path} answers any Host`)
})

t.test('no token: IP literals and localhost are served', async (t) => {
  const { admin, port } = await setup(t)
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `10.1.2.3:${port}`, '127.0.0.1']) {
    t.equal((await adminRequest(admin, 'GET', '/status', { host })).status, 200, `Host: ${host}`)
  }
})

t.test('no token: a domain name that only ends in "localhost" is refused like any other', async (t) => {
  // `evillocalhost` or `rebind.evil-localhost` is a domain an attacker can register and rebind; only `localhost` itself
  // is the loopback name
  const { admin, port } = await setup(t)
  for (const host of [`evillocalhost:${port}`, `rebind.evil-localhost:${port}`]) {
    const res = await adminRequest(admin, 'GET', '/status', { host })
    t.equal(res.status, 403, `Host: ${host}`)
    t.equal(res.body.error, 'forbidden_origin', `Host: ${host}`)
  }
})

t.test('a token set: any Host is served with the token', async (t) => {
  const token = 'admin-token-0123456789'
  const { admin, port } = await setup(t, { admin: { token } })
  const res = await adminRequest(admin, 'GET', '/status', { host: `admin.example.com:${port}`, authorization: `Bearer ${token}` })
  t.equal(res.status, 200)
})

t.test('no token, a listener beyond loopback: any Host is served (its network reaches it anyway)', async (t) => {
  const contextOn = (host: string | undefined): AdminContext => ({
    status: () => ({ version: '0', configFile: undefined, configLoadedAt: '', configHash: '', readiness: 'ready', tunnels: 0, pools: {}, removedPools: {}, routes: [], restartRequired: [] }) satisfies StatusDocument,
    events: () => [],
    pools: () => new Map(),
    readiness: () => 'ready',
    overloaded: () => false,
    metrics: undefined,
    reload: async () => ({ result: 'unchanged', hash: '' }) as Awaited<ReturnType<AdminContext['reload']>>,
    canaryRoutes: () => new Map(),
    token: () => undefined,
    ...(host !== undefined ? { host } : {}),
    logger: pino({ level: 'silent' }),
  })
  for (const [listenerHost, served] of [['0.0.0.0', true], ['admin.internal', true], ['localhost', false], ['127.0.0.1', false]] as const) {
    const admin = buildAdmin(contextOn(listenerHost))
    t.teardown(() => admin.close())
    const url = await admin.listen({ host: '127.0.0.1', port: 0 })
    const port = new URL(url).port
    t.equal((await adminRequest(url, 'GET', '/status', { host: `switchyard-admin.monitoring:${port}` })).status, served ? 200 : 403, `admin.host ${listenerHost}`)
  }

  t.test('no token, no listener host given (the admin default, loopback): the guard is on', async (t) => {
    // buildAdmin without `host` is the loopback default: a domain name in Host is refused, an IP literal served
    const admin = buildAdmin(contextOn(undefined))
    t.teardown(() => admin.close())
    const url = await admin.listen({ host: '127.0.0.1', port: 0 })
    const port = new URL(url).port
    const refused = await adminRequest(url, 'GET', '/status', { host: `rebind.evil.example:${port}` })
    t.equal(refused.status, 403, 'a domain name in Host')
    t.equal(refused.body.error, 'forbidden_origin')
    t.equal((await adminRequest(url, 'GET', '/status', { host: `127.0.0.1:${port}` })).status, 200, 'an IP literal')
  })
})
