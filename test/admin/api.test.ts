// The admin API from outside, over real sockets: every endpoint, the bearer token on every mutating route,
// readiness through start-up and shutdown, and every 4xx answer leaving the gateway's state as it was.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayOptions } from '../../src/app.ts'
import type { StatusDocument } from '../../src/admin/status-types.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { parseExposition } from '../unit/metrics-exposition.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const CONFIG_TOKEN = 'config-token-0123456789'
const ENV_TOKEN = 'env-token-9876543210abc'

interface Answer { status: number; contentType: string; body: Record<string, unknown> }

interface CallOptions { token?: string; authorization?: string; json?: unknown; raw?: string; contentType?: string }

async function call (base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {}
  const authorization = options.authorization ?? (options.token !== undefined ? `Bearer ${options.token}` : undefined)
  if (authorization !== undefined) headers.authorization = authorization
  let body: string | undefined
  if (options.json !== undefined) { body = JSON.stringify(options.json); headers['content-type'] = 'application/json' }
  if (options.raw !== undefined) { body = options.raw; headers['content-type'] = options.contentType ?? 'application/json' }
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) })
  const text = await res.text()
  const contentType = res.headers.get('content-type') ?? ''
  return { status: res.status, contentType, body: contentType.startsWith('application/json') ? JSON.parse(text) as Record<string, unknown> : { text } }
}

interface Setup { gw: TestGateway; admin: string; p1: TestUpstream; b1: TestUpstream; p1Id: string; status (): Promise<StatusDocument> }

/** A gateway with one Active-Standby pool, its admin listener on loopback, and a reload that reads `next`. */
async function setup (t: Tap, extra: Partial<GatewayConfig> = {}, options: GatewayOptions = {}, next?: () => unknown): Promise<Setup> {
  const [p1, b1] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'b1' })])
  const config: GatewayConfig = {
    pools: { pay: { targets: [p1.url, { url: b1.url, backup: true }] } },
    routes: [{ path: '/', pool: 'pay' }],
    ...extra,
  }
  const gw = await startGateway(config, {
    defaultMetrics: false,
    load: async () => validateConfig(next?.() ?? config),
    ...options,
  })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await p1.close(); await b1.close() })
  // with a token set, /status wants it too
  const token = extra.admin?.token
  const status = async (): Promise<StatusDocument> => (await call(admin, 'GET', '/status', token !== undefined ? { token } : {})).body as unknown as StatusDocument
  return { gw, admin, p1, b1, p1Id: `127.0.0.1:${p1.port}`, status }
}

/** Every mutating route, with a body that would succeed. */
function mutatingRoutes (p1Id: string): Array<{ path: string; json?: unknown }> {
  const target = `/pools/pay/targets/${encodeURIComponent(p1Id)}`
  return [
    { path: '/reload' },
    { path: `${target}/drain` },
    { path: `${target}/disable` },
    // p1 back before the switchovers: a failback with no primary available is refused 409 no_available_primary
    { path: `${target}/enable` },
    { path: '/pools/pay/switchover', json: { to: 'backup' } },
    { path: '/pools/pay/switchover', json: { to: 'primary' } },
    { path: '/pools/pay/switchover' },
    { path: '/pools/pay/failback' },
  ]
}

/** Probes and scrapes: open whatever the token. */
const OPEN_READ_ROUTES = ['/healthz', '/readyz', '/metrics']
/** The gateway's state: the token when one is set. */
const DATA_READ_ROUTES = ['/status', '/pools', '/events', '/history']

t.test('GET /healthz, /status, /pools, /events and /metrics describe the running gateway', async (t) => {
  const { admin, p1, b1, gw } = await setup(t)
  const health = await call(admin, 'GET', '/healthz')
  t.equal(health.status, 200)
  t.same(health.body, { status: 'ok' })

  const status = await call(admin, 'GET', '/status')
  t.equal(status.status, 200)
  const doc = status.body as unknown as StatusDocument
  t.equal(doc.version, '0.1.0')
  t.equal(doc.readiness, 'ready')
  t.match(doc.configHash, /^[0-9a-f]{8,}$/)
  t.equal(doc.configHash, gw.gateway.status().configHash)
  t.ok(Number.isFinite(Date.parse(doc.configLoadedAt)), 'configLoadedAt is an ISO time')
  t.strictSame(doc.routes, [{ id: '*/', path: '/', pool: 'pay' }])
  t.strictSame(doc.pools.pay!.targets.map((x) => [x.id, x.url, x.backup, x.state, x.inFlight]),
    [[`127.0.0.1:${p1.port}`, p1.url, false, 'healthy', 0], [`127.0.0.1:${b1.port}`, b1.url, true, 'healthy', 0]])
  t.equal(doc.pools.pay!.activeTier, 'primary')

  const pools = await call(admin, 'GET', '/pools')
  t.equal(pools.status, 200)
  t.strictSame(pools.body, doc.pools, '/pools is the pools part of /status')

  const events = await call(admin, 'GET', '/events')
  t.equal(events.status, 200)
  t.ok(Array.isArray(events.body.events), '{ events: [...] }')

  const metrics = await fetch(`${admin}/metrics`)
  t.equal(metrics.status, 200)
  t.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const exposition = parseExposition(await metrics.text())
  t.ok(exposition.samples.some((s) => s.name === 'switchyard_config_info' && s.labels.hash === doc.configHash && s.value === 1),
    'config_info carries the hash /status shows')
})

/** A target whose /health answers only when the test ends a held answer (anything else answers at once). */
async function heldHealth (t: Tap): Promise<{ held: ServerResponse[], url: string }> {
  const held: ServerResponse[] = []
  const probe = createServer((req, res) => {
    if (req.url === '/health') held.push(res)
    else res.end('ok')
  })
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { probe.closeAllConnections(); probe.close(() => resolve()) }))
  return { held, url: `http://127.0.0.1:${(probe.address() as AddressInfo).port}` }
}

t.test('/readyz is 503 starting until every pool has answered its first health-check round, then 200', async (t) => {
  const { held, url: probeUrl } = await heldHealth(t)
  const { admin } = await setup(t, {
    pools: {
      pay: { targets: ['http://127.0.0.1:9'] },
      checked: { targets: [probeUrl], healthCheck: { path: '/health', intervalMs: 5000, timeoutMs: 4000 } },
    },
    routes: [{ path: '/', pool: 'pay' }, { path: '/checked', pool: 'checked' }],
  }, { random: () => 0 })

  await waitFor(() => held.length === 1)
  const starting = await call(admin, 'GET', '/readyz')
  t.equal(starting.status, 503)
  t.same(starting.body, { ready: false, readiness: 'starting', overloaded: false })
  t.equal((await call(admin, 'GET', '/healthz')).status, 200, 'alive while not ready')

  held[0]!.end('ok')
  await waitFor(async () => (await call(admin, 'GET', '/readyz')).status === 200)
  t.same((await call(admin, 'GET', '/readyz')).body, { ready: true, readiness: 'ready', overloaded: false })
})

t.test('/readyz turns 503 the moment shutdown begins, while requests are still served', async (t) => {
  const { admin, gw } = await setup(t, { shutdown: { delayMs: 400, timeoutMs: 1000 } })
  t.equal((await call(admin, 'GET', '/readyz')).status, 200)
  const done = gw.gateway.shutdown()
  const draining = await call(admin, 'GET', '/readyz')
  t.equal(draining.status, 503)
  t.same(draining.body, { ready: false, readiness: 'draining', overloaded: false })
  const served = await fetch(`${gw.url}/during-delay`)
  t.equal(served.status, 200, 'still serving during delayMs')
  await served.text()
  await done
})

t.test('/readyz stays 503 draining when a shutdown begun during start-up sees the first health-check round finish', async (t) => {
  // SIGTERM while a pool is still on its first round: the round finishing afterwards must not turn the gateway ready
  // again, or the load balancer sends traffic to a gateway about to close its listener
  const { held, url: probeUrl } = await heldHealth(t)
  const { admin, gw } = await setup(t, {
    shutdown: { delayMs: 1000, timeoutMs: 1000 },
    pools: { checked: { targets: [probeUrl], healthCheck: { path: '/health', intervalMs: 5000, timeoutMs: 4000 } } },
    routes: [{ path: '/', pool: 'checked' }],
  }, { random: () => 0 })

  await waitFor(() => held.length === 1)
  t.equal(gw.gateway.readiness(), 'starting')
  const done = gw.gateway.shutdown()
  t.equal(gw.gateway.readiness(), 'draining')
  held[0]!.end('ok')
  // the pool's first round is done (start() hands back the same promise), and what the gateway chained on it has run
  await gw.gateway.pools().get('checked')!.start()
  await new Promise((resolve) => setImmediate(resolve))
  const draining = await call(admin, 'GET', '/readyz')
  t.equal(draining.status, 503)
  t.same(draining.body, { ready: false, readiness: 'draining', overloaded: false })
  await done
})

t.test('a second shutdown() waits for the first drain instead of starting its own', async (t) => {
  // another signal or an operator during the drain: one drain (one record with the plan), and both calls end with it
  const { gw } = await setup(t, { shutdown: { delayMs: 100, timeoutMs: 1000 } })
  const first = gw.gateway.shutdown()
  const second = gw.gateway.shutdown()
  await Promise.all([first, second])
  t.equal(gw.logs.filter((l) => typeof l.delayMs === 'number').length, 1, 'one drain began')
  t.equal(gw.gateway.readiness(), 'draining')
})

t.test('POST /reload: success with the diff and hash, unchanged, and 422 invalid_config keeping the running config', async (t) => {
  let next: unknown
  const { admin, p1, b1, gw, status } = await setup(t, {}, {}, () => next)
  const before = await status()

  next = { pools: { pay: { targets: [p1.url] } }, routes: [{ path: '/', pool: 'pay' }, { name: 'extra', path: '/extra', pool: 'pay' }] }
  const ok = await call(admin, 'POST', '/reload')
  t.equal(ok.status, 200)
  t.equal(ok.body.result, 'success')
  t.type(ok.body.changes, 'string')
  t.match(ok.body.diff, { routes: { added: ['extra'], removed: [], changed: [] }, targets: { removed: [`pay/${b1.url}`] } })
  const after = await status()
  t.equal(ok.body.hash, after.configHash, 'the hash answered is the one now in force')
  t.not(after.configHash, before.configHash)

  const same = await call(admin, 'POST', '/reload')
  t.equal(same.status, 200)
  t.equal(same.body.result, 'unchanged')
  t.equal(same.body.hash, after.configHash)
  t.notOk('diff' in same.body, 'no diff for an unchanged config')

  next = { pools: { pay: { targets: [] } }, routes: [{ path: '/', pool: 'nowhere' }] }
  const bad = await call(admin, 'POST', '/reload')
  t.equal(bad.status, 422)
  t.equal(bad.body.error, 'invalid_config')
  t.ok(Array.isArray(bad.body.problems) && (bad.body.problems as unknown[]).length >= 2, 'every problem listed')
  t.ok((bad.body.problems as string[]).every((p) => typeof p === 'string' && p.includes(':')), "each problem is 'path: sentence'")
  t.strictSame(await status(), after, 'the running config stays in force')
  t.ok(gw.logs.some((l) => l.level === 50 && l.event === 'reload-rejected' && Array.isArray(l.problems) && l.problems.length === (bad.body.problems as unknown[]).length),
    'an error record lists the problems')
})

t.test('drain, enable and disable answer with the target as /status shows it; /events records them', async (t) => {
  const { admin, p1Id } = await setup(t)
  const target = `/pools/pay/targets/${encodeURIComponent(p1Id)}`
  const drained = await call(admin, 'POST', `${target}/drain`)
  t.equal(drained.status, 200)
  t.match(drained.body, { pool: 'pay', target: { id: p1Id, state: 'drained' } }, 'nothing in flight: drained at once')
  const enabled = await call(admin, 'POST', `${target}/enable`)
  t.match(enabled.body, { pool: 'pay', target: { id: p1Id, state: 'healthy' } })
  const disabled = await call(admin, 'POST', `${target}/disable`)
  t.match(disabled.body, { pool: 'pay', target: { id: p1Id, state: 'disabled' } })

  const { events } = (await call(admin, 'GET', '/events')).body as { events: Array<{ kind: string; pool?: string; target?: string; at: string }> }
  const mine = events.filter((e) => e.target === p1Id)
  t.strictSame(mine.map((e) => e.kind), ['drain', 'drain', 'drain', 'target'], 'drain started, target drained, enabled, disabled')
  t.ok(mine.every((e) => e.pool === 'pay' && Number.isFinite(Date.parse(e.at))))
})

t.test('with a token, every mutating route and every read of state is 401 without it or with a wrong one, 200 with it; probes need none', async (t) => {
  const { admin, p1Id, status } = await setup(t, { admin: { token: CONFIG_TOKEN } })
  const before = await status()
  for (const route of mutatingRoutes(p1Id)) {
    for (const auth of [{}, { token: 'wrong-token-0123456789' }, { authorization: CONFIG_TOKEN }, { authorization: `Basic ${CONFIG_TOKEN}` }]) {
      const res = await call(admin, 'POST', route.path, { ...auth, ...(route.json !== undefined ? { json: route.json } : {}) })
      t.equal(res.status, 401, `${route.path} ${JSON.stringify(route.json ?? '')} with ${JSON.stringify(auth)}`)
      t.equal(res.body.error, 'unauthorized')
    }
  }
  t.strictSame(await status(), before, 'no refused call changed anything')
  for (const path of OPEN_READ_ROUTES) t.equal((await call(admin, 'GET', path)).status, 200, `GET ${path} needs no token`)
  for (const path of DATA_READ_ROUTES) {
    for (const auth of [{}, { token: 'wrong-token-0123456789' }]) {
      const res = await call(admin, 'GET', path, auth)
      t.equal(res.status, 401, `GET ${path} with ${JSON.stringify(auth)}`)
      t.equal(res.body.error, 'unauthorized')
    }
    t.equal((await call(admin, 'GET', path, { token: CONFIG_TOKEN })).status, 200, `GET ${path} with the token`)
  }
  for (const route of mutatingRoutes(p1Id)) {
    const res = await call(admin, 'POST', route.path, { token: CONFIG_TOKEN, ...(route.json !== undefined ? { json: route.json } : {}) })
    t.equal(res.status, 200, `${route.path} ${JSON.stringify(route.json ?? '')} with the token`)
  }
})

t.test('SWITCHYARD_ADMIN_TOKEN wins over admin.token', async (t) => {
  const { admin, p1Id } = await setup(t, { admin: { token: CONFIG_TOKEN } }, { env: { SWITCHYARD_ADMIN_TOKEN: ENV_TOKEN } })
  for (const route of mutatingRoutes(p1Id)) {
    const json = route.json !== undefined ? { json: route.json } : {}
    t.equal((await call(admin, 'POST', route.path, { token: CONFIG_TOKEN, ...json })).status, 401, `${route.path}: the config's token no longer works`)
    t.equal((await call(admin, 'POST', route.path, { token: ENV_TOKEN, ...json })).status, 200, `${route.path}: the environment's token does`)
  }
})

t.test('unknown paths and methods, bad bodies, oversized bodies, unknown pools and targets: a 4xx JSON error, nothing changed', async (t) => {
  const { admin, p1Id, status } = await setup(t, { admin: { token: CONFIG_TOKEN } })
  const target = `/pools/pay/targets/${encodeURIComponent(p1Id)}`
  const big = JSON.stringify({ to: 'backup', pad: 'x'.repeat(17 * 1024) })
  const cases: Array<{ method: string; path: string; options?: CallOptions; status: number; error: string }> = [
    { method: 'GET', path: '/nope', status: 404, error: 'not_found' },
    { method: 'GET', path: '/pools/pay/targets', status: 404, error: 'not_found' },
    { method: 'DELETE', path: '/status', status: 405, error: 'method_not_allowed' },
    { method: 'PUT', path: '/reload', status: 405, error: 'method_not_allowed' },
    { method: 'GET', path: '/reload', status: 405, error: 'method_not_allowed' },
    { method: 'POST', path: '/nope', status: 404, error: 'not_found' },
    { method: 'POST', path: `${target}/explode`, status: 404, error: 'not_found' },
    { method: 'POST', path: '/pools/pay/switchover', options: { raw: '{to:' }, status: 400, error: 'bad_request' },
    { method: 'POST', path: '/pools/pay/switchover', options: { json: { to: 'sideways' } }, status: 400, error: 'bad_request' },
    { method: 'POST', path: '/pools/pay/switchover', options: { json: ['backup'] }, status: 400, error: 'bad_request' },
    { method: 'POST', path: '/pools/pay/switchover', options: { raw: '<to>backup</to>', contentType: 'application/xml' }, status: 400, error: 'bad_request' },
    { method: 'POST', path: `${target}/drain`, options: { raw: '{"a":' }, status: 400, error: 'bad_request' },
    { method: 'POST', path: '/reload', options: { raw: '{"a":' }, status: 400, error: 'bad_request' },
    { method: 'POST', path: '/pools/pay/switchover', options: { raw: big }, status: 413, error: 'payload_too_large' },
    { method: 'POST', path: '/reload', options: { raw: big }, status: 413, error: 'payload_too_large' },
    { method: 'POST', path: `${target}/drain`, options: { raw: big }, status: 413, error: 'payload_too_large' },
    { method: 'POST', path: '/pools/nope/targets/127.0.0.1%3A1/drain', status: 404, error: 'unknown_pool' },
    { method: 'POST', path: '/pools/nope/switchover', options: { json: { to: 'backup' } }, status: 404, error: 'unknown_pool' },
    { method: 'POST', path: '/pools/nope/failback', status: 404, error: 'unknown_pool' },
    { method: 'POST', path: '/pools/pay/targets/127.0.0.1%3A1/drain', status: 404, error: 'unknown_target' },
    { method: 'POST', path: '/pools/pay/targets/127.0.0.1%3A1/disable', status: 404, error: 'unknown_target' },
  ]
  const before = await status()
  for (const c of cases) {
    const res = await call(admin, c.method, c.path, { token: CONFIG_TOKEN, ...c.options })
    const label = `${c.method} ${c.path}${c.options?.raw !== undefined ? ` (${c.options.raw.length} bytes)` : ''}`
    t.equal(res.status, c.status, label)
    t.match(res.contentType, /^application\/json/, `${label}: JSON`)
    t.equal(res.body.error, c.error, `${label}: ${c.error}`)
  }
  t.strictSame(await status(), before, 'no error changed any state')
})

// A path the listener serves, asked with a method it does not take, is 405 with Allow (RFC 9110 §15.5.6), as Envoy's
// admin answers a GET to a POST-only endpoint; OPTIONS says what each path takes (§9.3.7). Only unknown paths are
// 404: 'No such admin endpoint' for GET /reload sent operators looking for a path that is there.
t.test('a known path with another method: 405 method_not_allowed with Allow; OPTIONS 204 with Allow', async (t) => {
  const { admin, p1Id, status } = await setup(t, { admin: { token: CONFIG_TOKEN } })
  const auth = { authorization: `Bearer ${CONFIG_TOKEN}` }
  const before = await status()
  const cases: Array<[method: string, path: string, allow: string]> = [
    ['GET', '/reload', 'POST, OPTIONS'],
    ['HEAD', '/pools/pay/failback', 'POST, OPTIONS'],
    ['PUT', '/status', 'GET, HEAD, OPTIONS'],
    ['DELETE', `/pools/pay/targets/${encodeURIComponent(p1Id)}/drain`, 'POST, OPTIONS'],
    ['POST', '/dashboard/app.js', 'GET, HEAD, OPTIONS'],
  ]
  for (const [method, path, allow] of cases) {
    const res = await fetch(admin + path, { method, headers: auth })
    t.equal(res.status, 405, `${method} ${path}`)
    t.equal(res.headers.get('allow'), allow, `${method} ${path}: Allow`)
    if (method !== 'HEAD') t.equal((await res.json() as { error: string }).error, 'method_not_allowed')
    const options = await fetch(admin + path, { method: 'OPTIONS', headers: auth })
    t.equal(options.status, 204, `OPTIONS ${path}`)
    t.equal(options.headers.get('allow'), allow, `OPTIONS ${path}: Allow`)
  }
  // the token and the origin are asked first, whatever the method: without them the paths are not listed
  for (const [method, path] of [['GET', '/reload'], ['PUT', '/reload'], ['DELETE', '/status'], ['OPTIONS', '/pools/pay/failback']] as const) {
    t.equal((await fetch(admin + path, { method })).status, 401, `${method} ${path} without the token`)
  }
  t.equal((await fetch(`${admin}/status`, { method: 'DELETE', headers: { ...auth, 'sec-fetch-site': 'cross-site' } })).status, 403, 'from another origin')
  // a probe or an open path is guarded as its GET whatever the method: no token, a 405, a POST too
  for (const path of ['/healthz', '/metrics', '/dashboard/app.js']) {
    for (const method of ['PUT', 'POST']) t.equal((await fetch(admin + path, { method })).status, 405, `${method} ${path} without the token`)
  }
  t.equal((await fetch(`${admin}/nope`, { method: 'PUT', headers: auth })).status, 404, 'an unknown path stays 404')
  // an action that is not one names no resource: 404 for every method, not a 405 whose Allow says POST
  for (const method of ['GET', 'POST', 'OPTIONS']) {
    const res = await fetch(`${admin}/pools/pay/targets/${encodeURIComponent(p1Id)}/explode`, { method, headers: auth })
    t.equal(res.status, 404, `${method} of an unknown action`)
    t.equal(res.headers.get('allow'), null)
  }
  t.strictSame(await status(), before, 'nothing changed')
})

// A method beyond the common seven that the router knows (TRACE) is a method a path does not take too: 405, not 404
t.test('a method the router knows but no path takes is 405 as well', async (t) => {
  const { admin } = await setup(t)
  for (const method of ['TRACE']) {
    const res = await httpRequest(`${admin}/status`, { method })
    t.equal(res.status, 405, method)
    t.equal(res.headers.allow, 'GET, HEAD, OPTIONS', `${method}: Allow`)
  }
})

// What the admin listener answers is true now only: no cache may keep it (without Cache-Control, RFC 9111 §4.2.2 lets
// a cache give it a lifetime of its own); the dashboard's assets keep their no-cache and ETag
t.test('every admin answer but the dashboard assets says Cache-Control: no-store', async (t) => {
  const { admin } = await setup(t)
  for (const path of [...OPEN_READ_ROUTES, ...DATA_READ_ROUTES, '/nope', '/dashboard/config.json']) {
    t.equal((await fetch(admin + path)).headers.get('cache-control'), 'no-store', path)
  }
  t.equal((await fetch(`${admin}/reload`, { method: 'POST' })).headers.get('cache-control'), 'no-store', 'POST /reload')
  t.equal((await fetch(`${admin}/dashboard/app.css`)).headers.get('cache-control'), 'no-cache', 'an asset')
  // the router's own refusals, answered before any hook: bad percent-encoding, a parameter over maxParamLength
  t.equal((await fetch(`${admin}/pools/%E0%A4%A/failback`, { method: 'POST' })).headers.get('cache-control'), 'no-store', 'bad percent-encoding')
  t.equal((await fetch(`${admin}/routes/${'r'.repeat(3000)}/canary`, { method: 'POST' })).headers.get('cache-control'), 'no-store', 'a parameter too long')
})

t.test('an admin listener off loopback without a token logs a warning; with a token it does not', async (t) => {
  const warnings = (gw: TestGateway): unknown[] => gw.logs.filter((l) => l.level === 40 && l.host === '0.0.0.0')
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = (extra: Partial<GatewayConfig> = {}): GatewayConfig => ({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], ...extra })
  const bare = await startGateway(config(), { defaultMetrics: false })
  t.teardown(() => bare.close())
  t.equal(warnings(bare).length, 0, 'no warning before an admin listener exists')
  await bare.gateway.listenAdmin({ host: '0.0.0.0', port: 0 })
  t.equal(warnings(bare).length, 1, 'one warn record naming the host')

  const withToken = await startGateway(config({ admin: { token: CONFIG_TOKEN } }), { defaultMetrics: false })
  t.teardown(() => withToken.close())
  await withToken.gateway.listenAdmin({ host: '0.0.0.0', port: 0 })
  t.equal(warnings(withToken).length, 0, 'a config token: no warning')

  const withEnv = await startGateway(config(), { defaultMetrics: false, env: { SWITCHYARD_ADMIN_TOKEN: ENV_TOKEN } })
  t.teardown(() => withEnv.close())
  await withEnv.gateway.listenAdmin({ host: '0.0.0.0', port: 0 })
  t.equal(warnings(withEnv).length, 0, 'an environment token: no warning')

  const loopback = await startGateway(config(), { defaultMetrics: false })
  t.teardown(() => loopback.close())
  await loopback.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.equal(loopback.logs.filter((l) => l.level === 40).length, 0, 'loopback without a token: no warning')
})

t.test('the dashboard\'s config.json: actions off only for an admin listener off loopback without a token', async (t) => {
  // the page disables every action and says why from this document: on loopback without a token, or with a
  // token anywhere, the operator's buttons must work
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = (extra: Partial<GatewayConfig> = {}): GatewayConfig => ({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], ...extra })
  const dashboardConfig = async (host: string, extra: Partial<GatewayConfig> = {}): Promise<Record<string, unknown>> => {
    const gw = await startGateway(config(extra), { defaultMetrics: false })
    t.teardown(() => gw.close())
    const url = new URL(await gw.gateway.listenAdmin({ host, port: 0 }))
    const res = await call(`http://127.0.0.1:${url.port}`, 'GET', '/dashboard/config.json')
    t.equal(res.status, 200)
    return res.body
  }
  t.strictSame(await dashboardConfig('127.0.0.1'), { tokenRequired: false }, 'loopback without a token: actions on')
  t.strictSame(await dashboardConfig('0.0.0.0', { admin: { token: CONFIG_TOKEN } }), { tokenRequired: true }, 'a token: actions on, with the token')
  const off = await dashboardConfig('0.0.0.0')
  t.equal(off.tokenRequired, false)
  t.type(off.actionsDisabledReason, 'string', 'off loopback without a token: actions off, with the reason')
})

t.test('/status configLoadedAt moves to the time of a reload that switched config, not of one that changed nothing', async (t) => {
  // the operator reads it to tell whether the config they pushed is the one running
  const clock = new ManualClock(Date.parse('2030-01-01T00:00:00.000Z'))
  let next: unknown
  const { admin, p1, status } = await setup(t, {}, { clock }, () => next)
  t.equal((await status()).configLoadedAt, '2030-01-01T00:00:00.000Z')
  clock.advance(60_000)
  t.equal((await call(admin, 'POST', '/reload')).body.result, 'unchanged')
  t.equal((await status()).configLoadedAt, '2030-01-01T00:00:00.000Z', 'unchanged: the load time stays')
  next = { pools: { pay: { targets: [p1.url] } }, routes: [{ path: '/', pool: 'pay' }] }
  clock.advance(60_000)
  t.equal((await call(admin, 'POST', '/reload')).body.result, 'success')
  t.equal((await status()).configLoadedAt, '2030-01-01T00:02:00.000Z', 'switched: the reload\'s time')
})

t.test('a pool a reload keeps is watched once: its events are not recorded twice', async (t) => {
  let next: unknown
  const { admin, p1, b1, p1Id, gw } = await setup(t, {}, {}, () => next)
  // new routes, the same pool: its runtime is kept
  next = { pools: { pay: { targets: [p1.url, { url: b1.url, backup: true }] } }, routes: [{ path: '/', pool: 'pay' }, { name: 'extra', path: '/extra', pool: 'pay' }] }
  t.equal((await call(admin, 'POST', '/reload')).body.result, 'success')
  t.equal((await call(admin, 'POST', `/pools/pay/targets/${encodeURIComponent(p1Id)}/disable`)).status, 200)
  const disabled = gw.gateway.events.list().filter((e) => e.kind === 'target' && e.target === p1Id)
  t.equal(disabled.length, 1, 'one event for one disable')
})
