// Settings outside pools and routes, changed by a reload: those a running gateway can apply take effect (the admin
// token, the front door's limits and trust, the slow-client timeouts, the log level); those set up at start are
// reported as needing a restart. Before, every one was reported as reloaded and none but the secret and the
// shutdown plan took effect: an admin token rotated out because it leaked kept working.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const OLD_TOKEN = 'old-token-0123456789abc'
const NEW_TOKEN = 'new-token-9876543210xyz'

interface Running { gw: TestGateway; admin: string; next: (config: GatewayConfig) => void; base: GatewayConfig }

async function start (t: Tap, extra: Partial<GatewayConfig>): Promise<Running> {
  const u = await TestUpstream.start({ name: 'u' })
  const base: GatewayConfig = { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }], ...extra }
  let next = base
  const gw = await startGateway(base, { defaultMetrics: false, env: {}, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, admin, base, next: (config) => { next = config } }
}

const post = async (url: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(url, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

t.test('a reloaded admin token replaces the old one at once', async (t) => {
  const { admin, base, next } = await start(t, { admin: { token: OLD_TOKEN } })
  next({ ...base, admin: { token: NEW_TOKEN } })
  const reload = await post(`${admin}/reload`, OLD_TOKEN)
  t.equal(reload.status, 200)
  t.equal(reload.body.result, 'success')
  t.equal((await post(`${admin}/reload`, OLD_TOKEN)).status, 401, 'the old token is refused')
  t.equal((await post(`${admin}/reload`, NEW_TOKEN)).status, 200, 'the new token is accepted')
  next({ pools: base.pools, routes: base.routes })
  t.equal((await post(`${admin}/reload`, NEW_TOKEN)).body.result, 'success', 'a reload that removes the token')
  t.equal((await post(`${admin}/reload`)).status, 200, 'no token set: loopback calls need none')
})

t.test('front-door limits, trust and timeouts follow a reload', async (t) => {
  const { gw, admin, base, next } = await start(t, {})
  const long = `/${'a'.repeat(400)}`
  t.equal((await fetch(gw.url + long)).status, 200, 'a 401-byte target passes the default limit')
  next({ ...base, server: { maxUrlBytes: 256, headersTimeoutMs: 7000, requestTimeoutMs: 9000 } })
  const reload = await post(`${admin}/reload`)
  t.equal(reload.body.result, 'success')
  t.strictSame((reload.body.diff as { restartRequired: string[] }).restartRequired, [], 'nothing waits for a restart')
  const refused = await fetch(gw.url + long)
  t.equal(refused.status, 414, 'the reloaded maxUrlBytes refuses it')
  t.equal(((await refused.json()) as { error: string }).error, 'uri_too_long')
  t.equal(gw.gateway.app.server.headersTimeout, 7000, 'headersTimeoutMs applied to the listening server')
  t.equal(gw.gateway.app.server.requestTimeout, 9000, 'requestTimeoutMs applied to the listening server')
})

t.test('the log level follows a reload', async (t) => {
  const { gw, admin, base, next } = await start(t, {})
  await fetch(gw.url + '/one')
  t.equal(gw.accessLogs().length, 1, 'info: one access-log line')
  next({ ...base, log: { level: 'warn' } })
  t.equal((await post(`${admin}/reload`)).body.result, 'success')
  await fetch(gw.url + '/two')
  t.equal(gw.accessLogs().length, 1, 'warn: no access-log line for the second request')
  t.equal(gw.gateway.logger.level, 'warn')
})

t.test('settings set up at start are reported as needing a restart, and left as they are', async (t) => {
  const { gw, admin, base, next } = await start(t, {})
  next({ ...base, server: { maxHeaderBytes: 4096, backlog: 64 }, metrics: { enabled: false } })
  const reload = await post(`${admin}/reload`)
  t.equal(reload.body.result, 'success')
  t.strictSame((reload.body.diff as { restartRequired: string[] }).restartRequired, ['metrics.enabled', 'server.backlog', 'server.maxHeaderBytes'])
  t.not(gw.gateway.metrics, undefined, 'metrics stay on until a restart')
})
