// GET /metrics from outside: real traffic through real upstreams, then the exposition parsed and compared
// series by series; state gauges, reload counters, forgetting what a reload removed, and the cost at scale.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { refusedUrl } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]


interface Metered { gw: TestGateway; admin: string; scrape (): Promise<Record<string, number>>; setNext (config: unknown): void }

/** A gateway with its admin listener; reloads read whatever setNext() was given last. */
async function metered (t: Tap, config: GatewayConfig): Promise<Metered> {
  let next: unknown = config
  const gw = await startGateway(config, { defaultMetrics: false, load: async () => validateConfig(next) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(() => gw.close())
  const scrape = async (): Promise<Record<string, number>> => {
    const res = await fetch(`${admin}/metrics`)
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
    return seriesOf(await res.text())
  }
  return { gw, admin, scrape, setNext: (c) => { next = c } }
}

async function upstream (t: Tap, name: string): Promise<TestUpstream> {
  const u = await TestUpstream.start({ name })
  t.teardown(() => u.close())
  return u
}

const idOf = (url: string): string => new URL(url).host

async function get (url: string): Promise<number> {
  const res = await fetch(url)
  await res.arrayBuffer()
  return res.status
}

/** Only the series of these metric names. */
function only (series: Record<string, number>, ...names: string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(series).filter(([k]) => names.some((n) => k === n || k.startsWith(`${n}{`))))
}

t.test('after 200s, a 503 retried to success and a refused target, every series has the right value', async (t) => {
  const [u1, u2] = [await upstream(t, 'u1'), await upstream(t, 'u2')]
  const dead = await refusedUrl()
  const { gw, scrape } = await metered(t, {
    pools: {
      ok: { targets: [u1.url] },
      flaky: { targets: [u2.url] },
      dead: { targets: [dead], retry: { backoff: { baseMs: 0, maxMs: 0 } } },
    },
    routes: [{ name: 'ok-route', path: '/ok', pool: 'ok' }, { path: '/flaky', pool: 'flaky' }, { path: '/dead', pool: 'dead' }],
  })
  for (let i = 0; i < 5; i++) t.equal(await get(`${gw.url}/ok/${i}`), 200)
  u2.failCount = 1
  t.equal(await get(`${gw.url}/flaky`), 200, 'the 503 was retried to success')
  t.equal(await get(`${gw.url}/dead`), 502, 'every attempt refused')

  const series = await scrape()
  t.strictSame(only(series, 'switchyard_requests_total'), {
    [key('switchyard_requests_total', { route: 'ok-route', pool: 'ok', method: 'GET', code: '200' })]: 5,
    [key('switchyard_requests_total', { route: '*/flaky', pool: 'flaky', method: 'GET', code: '200' })]: 1,
    [key('switchyard_requests_total', { route: '*/dead', pool: 'dead', method: 'GET', code: '502' })]: 1,
  }, 'requests by route name (else id), pool, method and code')
  t.equal(series[key('switchyard_request_duration_seconds_count', { route: 'ok-route', pool: 'ok' })], 5)
  t.equal(series[key('switchyard_request_duration_seconds_bucket', { route: 'ok-route', pool: 'ok', le: '+Inf' })], 5)
  t.ok(series[key('switchyard_request_duration_seconds_sum', { route: 'ok-route', pool: 'ok' })]! > 0)
  t.strictSame(only(series, 'switchyard_upstream_attempts_total'), {
    [key('switchyard_upstream_attempts_total', { pool: 'ok', target: idOf(u1.url), outcome: 'success' })]: 5,
    [key('switchyard_upstream_attempts_total', { pool: 'flaky', target: idOf(u2.url), outcome: 'status' })]: 1,
    [key('switchyard_upstream_attempts_total', { pool: 'flaky', target: idOf(u2.url), outcome: 'success' })]: 1,
    [key('switchyard_upstream_attempts_total', { pool: 'dead', target: idOf(dead), outcome: 'connect-failure' })]: 3,
  }, 'attempts by pool, target host:port and outcome')
  t.strictSame(only(series, 'switchyard_retries_total'), {
    [key('switchyard_retries_total', { pool: 'flaky', reason: 'status' })]: 1,
    [key('switchyard_retries_total', { pool: 'dead', reason: 'connect-failure' })]: 2,
  })
  t.notOk(Object.values(only(series, 'switchyard_retry_budget_exhausted_total')).some((v) => v > 0), 'the budget was never exhausted')
  t.strictSame(only(series, 'switchyard_circuit_state'), {
    [key('switchyard_circuit_state', { pool: 'ok' })]: 0,
    [key('switchyard_circuit_state', { pool: 'flaky' })]: 0,
    [key('switchyard_circuit_state', { pool: 'dead' })]: 0,
  })
  t.strictSame(only(series, 'switchyard_target_up', 'switchyard_target_in_flight'), {
    [key('switchyard_target_up', { pool: 'ok', target: idOf(u1.url) })]: 1,
    [key('switchyard_target_up', { pool: 'flaky', target: idOf(u2.url) })]: 1,
    [key('switchyard_target_up', { pool: 'dead', target: idOf(dead) })]: 1,
    [key('switchyard_target_in_flight', { pool: 'ok', target: idOf(u1.url) })]: 0,
    [key('switchyard_target_in_flight', { pool: 'flaky', target: idOf(u2.url) })]: 0,
    [key('switchyard_target_in_flight', { pool: 'dead', target: idOf(dead) })]: 0,
  })
})

t.test('circuit_state follows a breaker that opens (0 closed → 2 open)', async (t) => {
  const dead = await refusedUrl()
  const { gw, scrape, admin } = await metered(t, {
    pools: { brk: { targets: [dead], retry: { attempts: 1 }, circuitBreaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 30000 } } },
    routes: [{ path: '/', pool: 'brk' }],
  })
  t.equal((await scrape())[key('switchyard_circuit_state', { pool: 'brk' })], 0)
  let opened = false
  for (let i = 0; i < 10 && !opened; i++) {
    const res = await fetch(`${gw.url}/x`)
    opened = res.status === 503 && ((await res.json()) as { error: string }).error === 'circuit_open'
  }
  t.ok(opened, 'the breaker opened')
  t.equal((await scrape())[key('switchyard_circuit_state', { pool: 'brk' })], 2)
  const status = (await (await fetch(`${admin}/status`)).json()) as { pools: Record<string, { circuit: string }> }
  t.equal(status.pools.brk!.circuit, 'open', '/status agrees')
})

t.test('target_up and target_in_flight follow a request in flight and an operator disabling the target', async (t) => {
  const u1 = await upstream(t, 'u1')
  const { gw, scrape, admin } = await metered(t, { pools: { p: { targets: [u1.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const up = key('switchyard_target_up', { pool: 'p', target: idOf(u1.url) })
  const inFlight = key('switchyard_target_in_flight', { pool: 'p', target: idOf(u1.url) })
  u1.delayMs = 600
  const slow = get(`${gw.url}/slow`)
  await waitFor(async () => (await scrape())[inFlight] === 1)
  t.equal((await scrape())[up], 1)
  const res = await fetch(`${admin}/pools/p/targets/${encodeURIComponent(idOf(u1.url))}/disable`, { method: 'POST' })
  t.equal(res.status, 200)
  const during = await scrape()
  t.equal(during[up], 0, 'disabled: down at once')
  t.equal(during[inFlight], 1, 'its request still in flight')
  t.equal(await slow, 200)
  t.equal((await scrape())[inFlight], 0)
})

t.test('config_info carries the running hash; config_reloads_total counts success, unchanged and error', async (t) => {
  const u1 = await upstream(t, 'u1')
  const first: GatewayConfig = { pools: { p: { targets: [u1.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const { gw, scrape, setNext } = await metered(t, first)
  const reloads = (result: string): string => key('switchyard_config_reloads_total', { result })
  const info = (series: Record<string, number>): Record<string, number> => only(series, 'switchyard_config_info')

  const start = await scrape()
  const hash1 = gw.gateway.status().configHash
  t.strictSame(info(start), { [key('switchyard_config_info', { hash: hash1 })]: 1 })
  t.strictSame(only(start, 'switchyard_config_reloads_total'), { [reloads('success')]: 0, [reloads('error')]: 0, [reloads('unchanged')]: 0 }, 'every result exported from the start')

  setNext({ ...first, routes: [{ path: '/', pool: 'p' }, { path: '/more', pool: 'p' }] })
  t.equal((await gw.gateway.reload()).result, 'success')
  const hash2 = gw.gateway.status().configHash
  t.not(hash2, hash1)
  t.equal((await gw.gateway.reload()).result, 'unchanged')
  setNext({ ...first, routes: [{ path: 'no-slash', pool: 'p' }] })
  t.equal((await gw.gateway.reload()).result, 'error')

  const after = await scrape()
  t.strictSame(info(after), { [key('switchyard_config_info', { hash: hash2 })]: 1 }, 'only the hash in force, not the rejected one')
  t.strictSame(only(after, 'switchyard_config_reloads_total'), { [reloads('success')]: 1, [reloads('error')]: 1, [reloads('unchanged')]: 1 })
})

t.test('metrics off: GET /metrics is 404 metrics_disabled', async (t) => {
  const u1 = await upstream(t, 'u1')
  const gw = await startGateway({ metrics: { enabled: false }, pools: { p: { targets: [u1.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.equal(await get(`${gw.url}/x`), 200, 'traffic is served without metrics')
  const res = await fetch(`${admin}/metrics`)
  t.equal(res.status, 404)
  t.equal(((await res.json()) as { error: string }).error, 'metrics_disabled')
})

// A reload that removes a route must take its series with it (GatewayMetrics.forgetRoute), however it is spelled
// (its (route, pool) series after the first scrape, which shows their final counts).
const removedRoutes: Array<{ name: string; route: GatewayConfig['routes'][number]; label: string; request: { path: string; method: string; host?: string }}> = [
  { name: 'a named route', route: { name: 'gone', path: '/gone', pool: 'p' }, label: 'gone', request: { path: '/gone', method: 'GET' } },
  { name: 'an unnamed route', route: { path: '/gone', pool: 'p' }, label: '*/gone', request: { path: '/gone', method: 'GET' } },
  {
    name: 'an unnamed route with methods in non-alphabetical order',
    route: { path: '/gone', pool: 'p', methods: ['POST', 'GET'] },
    label: '*/gone [GET,POST]',
    request: { path: '/gone', method: 'GET' },
  },
  {
    name: 'an unnamed route with an upper-case host',
    route: { path: '/gone', pool: 'p', host: 'API.example.com' },
    label: 'api.example.com/gone',
    request: { path: '/gone', method: 'GET', host: 'api.example.com' },
  },
]

for (const c of removedRoutes) {
  t.test(`a reload that removes ${c.name} drops its series`, async (t) => {
    const u1 = await upstream(t, 'u1')
    const base: GatewayConfig = { pools: { p: { targets: [u1.url] } }, routes: [{ path: '/', pool: 'p' }] }
    const { gw, scrape, setNext } = await metered(t, { ...base, routes: [...base.routes, c.route] })
    // node:http, not fetch: fetch may not set Host
    const res = await httpRequest(`${gw.url}${c.request.path}`, { method: c.request.method, ...(c.request.host ? { headers: { host: c.request.host } } : {}) })
    t.equal(res.headers['x-upstream'], 'u1')
    const mentions = (series: Record<string, number>): string[] => Object.keys(series).filter((k) => k.includes(`route=${JSON.stringify(c.label)}`))
    t.ok(mentions(await scrape()).length > 0, `series labelled route=${c.label} exist`)
    setNext(base)
    t.equal((await gw.gateway.reload()).result, 'success')
    // changed: the first scrape after the reload shows the route's (route, pool) final counts, then they go
    t.ok(mentions(await scrape()).every((k) => k.startsWith('switchyard_request')), 'only its (route, pool) series shown once more')
    t.strictSame(mentions(await scrape()), [], 'none left after the reload')
  })
}

t.test('a reload that removes a target from a kept pool drops its attempt series', async (t) => {
  const [u1, u2] = [await upstream(t, 'u1'), await upstream(t, 'u2')]
  const base: GatewayConfig = { pools: { p: { targets: [u1.url, u2.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const { gw, scrape, setNext } = await metered(t, base)
  for (let i = 0; i < 4; i++) await get(`${gw.url}/x`)
  const mentions = (series: Record<string, number>): string[] => Object.keys(series).filter((k) => k.includes(`target=${JSON.stringify(idOf(u2.url))}`))
  t.ok(mentions(await scrape()).some((k) => k.startsWith('switchyard_upstream_attempts_total')), 'u2 has attempt series')
  setNext({ ...base, pools: { p: { targets: [u1.url] } } })
  t.equal((await gw.gateway.reload()).result, 'success')
  await waitFor(() => gw.gateway.status().pools.p!.targets.length === 1)
  t.strictSame(mentions(await scrape()), [], 'nothing labelled with the removed target')
})

// The attempts series of a kept target live on when a reload rebuilds its pool (new settings, same targets): the
// replaced runtime emptying itself once its last request ended used to forget them, so the counters of every
// target of a re-tuned pool restarted from nothing, as if Prometheus saw a reset.
t.test('a reload that rebuilds a pool keeps its targets\' attempt series counting', async (t) => {
  const u1 = await upstream(t, 'u1')
  const base: GatewayConfig = { pools: { p: { targets: [u1.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const { gw, scrape, setNext } = await metered(t, base)
  for (let i = 0; i < 3; i++) t.equal(await get(`${gw.url}/x`), 200)
  const series = key('switchyard_upstream_attempts_total', { pool: 'p', target: idOf(u1.url), outcome: 'success' })
  t.equal((await scrape())[series], 3)
  const before = gw.gateway.pools().get('p')!
  setNext({ ...base, pools: { p: { targets: [u1.url], timeouts: { requestMs: 20_000 } } } })
  t.equal((await gw.gateway.reload()).result, 'success')
  t.not(gw.gateway.pools().get('p'), before, 'the pool was built anew')
  // the replaced runtime has nothing in flight: it empties itself (its targets "removed")
  await waitFor(() => before.pool.targets.length === 0)
  t.equal(await get(`${gw.url}/x`), 200)
  t.equal((await scrape())[series], 4, 'the same series, one more')
})

// A request in flight on a target a reload removed, ending after the reload: the target's series were forgotten
// with it, and its late attempt must not bind them again (an address a rolling deploy removed would stay exported
// for good, as no later reload forgets it again). Here it is the target's first attempt, so nothing was bound yet.
t.test('a removed target\'s request ending after the reload does not bring its series back', async (t) => {
  const held: ServerResponse[] = []
  const server = createServer((req, res) => { req.resume(); held.push(res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const res of held) if (!res.writableEnded) res.end()
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const a = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const u2 = await upstream(t, 'u2')
  const { gw, scrape, setNext } = await metered(t, { pools: { p: { targets: [a] } }, routes: [{ path: '/', pool: 'p' }] })
  const pending = fetch(`${gw.url}/slow`).then(async (r) => { await r.arrayBuffer(); return r.status })
  await waitFor(() => held.length === 1)
  setNext({ pools: { p: { targets: [u2.url] } }, routes: [{ path: '/', pool: 'p' }] })
  t.equal((await gw.gateway.reload()).result, 'success')
  held[0]!.end('late')
  t.equal(await pending, 200, 'the removed target still answers its request')
  await waitFor(() => gw.gateway.status().pools.p!.targets.every((x) => x.id !== idOf(a)))
  const mentions = Object.keys(await scrape()).filter((k) => k.includes(`target=${JSON.stringify(idOf(a))}`))
  t.strictSame(mentions, [], 'nothing labelled with the removed target')
})


// A retry the policy allows and the retry budget refuses counts in retry_budget_exhausted_total, the pool's series
// an alert on a pool-wide failure watches (exported at 0 from the start, so its first increase fires).
t.test('a retry the budget refuses counts in retry_budget_exhausted_total', async (t) => {
  const u1 = await upstream(t, 'u1')
  const { gw, scrape } = await metered(t, {
    pools: { p: { targets: [u1.url], retry: { budget: { percent: 0, minConcurrent: 0 } } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const series = key('switchyard_retry_budget_exhausted_total', { pool: 'p' })
  t.equal((await scrape())[series], 0, 'exported at 0')
  u1.failCount = 1
  t.equal(await get(`${gw.url}/x`), 503, 'the 503 is not retried: the budget has no room')
  t.equal((await scrape())[series], 1)
})
t.test('GET /metrics and GET /status with 100 pools × 20 targets answer well under a second', async (t) => {
  const pools: GatewayConfig['pools'] = {}
  const routes: GatewayConfig['routes'] = []
  for (let p = 0; p < 100; p++) {
    // never connected to: nothing is sent, only described
    pools[`pool${p}`] = { targets: Array.from({ length: 20 }, (_, i) => `http://127.0.0.1:${20000 + p * 20 + i}`) }
    routes.push({ path: `/p${p}`, pool: `pool${p}` })
  }
  const { admin } = await metered(t, { pools, routes })
  const time = async (path: string): Promise<{ ms: number; bytes: number }> => {
    const started = performance.now()
    const res = await fetch(admin + path)
    const bytes = (await res.arrayBuffer()).byteLength
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`)
    return { ms: performance.now() - started, bytes }
  }
  for (const path of ['/metrics', '/status']) {
    const runs = []
    for (let i = 0; i < 5; i++) runs.push(await time(path))
    const sorted = runs.map((r) => r.ms).sort((a, b) => a - b)
    t.comment(`${path}: ${runs[0]!.bytes} bytes; first ${runs[0]!.ms.toFixed(1)} ms, median ${sorted[2]!.toFixed(1)} ms, max ${sorted[4]!.toFixed(1)} ms (2000 targets)`)
    t.ok(sorted[4]! < 1000, `${path} answers in under a second`)
  }
  const series = seriesOf(await (await fetch(`${admin}/metrics`)).text())
  t.equal(Object.keys(only(series, 'switchyard_target_up')).length, 2000, 'one target_up series per target')
})
