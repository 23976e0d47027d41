// Via (RFC 9110 §7.6.3: "An HTTP-to-HTTP gateway MUST send an appropriate Via header field in each inbound request
// message"). The gateway appends `<received-protocol> <received-by> (switchyard/<instance id>)` to every request it
// forwards (received-by: server.via, default 'switchyard'), mirror copies too, and refuses a request whose Via names
// its own instance twice already: 508 loop_detected (RFC 5842 §7.2), at the third pass, instead of a pool that points
// back at the gateway opening ~1,000 hops before a 504. The second pass is let through (a hairpin through an auth
// proxy back to the gateway is no loop). Two gateway instances chained pass each other's requests.
import t, { type Test } from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawHandshake, rawRequest } from '../proxy/raw.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const ENTRY = /^1\.1 switchyard \(switchyard\/[0-9a-f]{8}\)$/

/** A gateway routing / to pool p (upstream u), and `pools` besides. */
async function setup (t: Test, config: Partial<GatewayConfig> = {}, pools: GatewayConfig['pools'] = {}): Promise<{ gw: TestGateway; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ routes: [{ path: '/', pool: 'p' }], ...config, pools: { p: { targets: [u.url] }, ...pools } } as GatewayConfig, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, u }
}

/** The Via entries of a request the upstream saw, in order. */
const viaOf = (u: TestUpstream, i = 0): string[] => String(u.requests[i]?.headers.via ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '')

t.test("the client's Via reaches the upstream with the gateway's entry appended", async (t) => {
  const { gw, u } = await setup(t)
  const res = await rawRequest(portOf(gw.url), 'GET /v HTTP/1.1\r\nHost: a.example\r\nVia: 1.0 fred, 1.1 p.example\r\n\r\n')
  t.equal(res.status, 200)
  const via = viaOf(u)
  t.strictSame(via.slice(0, 2), ['1.0 fred', '1.1 p.example'], "the client's entries first, as sent")
  t.equal(via.length, 3)
  t.match(via[2], ENTRY, "then the gateway's")
  t.equal(u.requests[0]!.rawHeaders.filter((n) => n.toLowerCase() === 'via').length, 1, 'one Via line: appended to the list, not another line')
})

t.test('a request without Via gets one entry; an HTTP/1.0 one names 1.0 as received', async (t) => {
  const { gw, u } = await setup(t)
  t.equal((await rawRequest(portOf(gw.url), 'GET /v HTTP/1.1\r\nHost: a.example\r\n\r\n')).status, 200)
  t.equal((await rawRequest(portOf(gw.url), 'GET /v HTTP/1.0\r\nHost: a.example\r\n\r\n')).status, 200)
  t.match(viaOf(u, 0), [ENTRY])
  t.equal(viaOf(u, 0).length, 1)
  t.match(viaOf(u, 1), [/^1\.0 switchyard \(switchyard\/[0-9a-f]{8}\)$/])
  t.equal(viaOf(u, 0)[0]!.slice(4), viaOf(u, 1)[0]!.slice(4), 'one instance id')
})

t.test('several Via lines: the entry goes at the end of their list', async (t) => {
  const { gw, u } = await setup(t)
  const res = await rawRequest(portOf(gw.url), 'GET /v HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 a\r\nX-Other: o\r\nVia: 1.1 b\r\n\r\n')
  t.equal(res.status, 200)
  const via = viaOf(u)
  t.strictSame(via.slice(0, 2), ['1.1 a', '1.1 b'])
  t.match(via[2], ENTRY)
})

t.test('server.via names the gateway as configured; a mirror copy carries it too', async (t) => {
  const shadow = await TestUpstream.start({ name: 'shadow' })
  t.teardown(() => shadow.close())
  const { gw, u } = await setup(t, { server: { via: 'edge-1:8080' }, routes: [{ path: '/', pool: 'p', mirror: { pool: 's' } }] }, { s: { targets: [shadow.url] } })
  const res = await fetch(`${gw.url}/m`)
  await res.arrayBuffer()
  t.equal(res.status, 200)
  await waitFor(() => shadow.requests.length === 1)
  t.match(viaOf(u), [/^1\.1 edge-1:8080 \(switchyard\/[0-9a-f]{8}\)$/])
  t.equal(viaOf(u).length, 1)
  t.strictSame(viaOf(shadow), viaOf(u), 'the mirror copy has the same Via')
})

t.test('server.via: false adds none (and finds no loop): the client\'s Via passes unchanged', async (t) => {
  const { gw, u } = await setup(t, { server: { via: false } })
  t.equal((await rawRequest(portOf(gw.url), 'GET /v HTTP/1.1\r\nHost: a.example\r\n\r\n')).status, 200)
  t.equal((await rawRequest(portOf(gw.url), 'GET /v HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 x (switchyard/0badc0de)\r\n\r\n')).status, 200)
  t.equal(u.requests[0]!.headers.via, undefined)
  t.equal(u.requests[1]!.headers.via, '1.1 x (switchyard/0badc0de)')
})

/** A gateway whose pool `self` points at the gateway itself (a reload points it there, once its port is known). */
async function selfPointing (t: Test, route: { path: string; stripPrefix?: boolean }): Promise<{ gw: TestGateway; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const base = { log: { level: 'info' }, pools: { self: { targets: [u.url], retry: { attempts: 1 }, timeouts: { requestMs: 3000 } } }, routes: [{ pool: 'self', ...route }] }
  let selfUrl = ''
  const gw = await startGateway(base as GatewayConfig, {
    defaultMetrics: false,
    load: async () => validateConfig({ ...base, pools: { self: { ...base.pools.self, targets: [selfUrl] } } }),
  })
  t.teardown(() => gw.close())
  selfUrl = gw.url
  t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
  return { gw, u }
}

t.test('a pool that points back at the gateway: 508 loop_detected at the third pass, not a 504 after a thousand hops', async (t) => {
  const { gw, u } = await selfPointing(t, { path: '/' })
  const started = performance.now()
  const res = await fetch(`${gw.url}/loop`)
  const body = await res.json() as { error: string }
  const tookMs = performance.now() - started
  t.equal(res.status, 508)
  t.equal(body.error, 'loop_detected')
  t.ok(tookMs < 1500, `answered at once (${Math.round(tookMs)} ms), not at the 3 s timeout`)
  // the client's request, its copy let through once (a hairpin would look the same), refused when it came back again
  await waitFor(() => gw.accessLogs().length === 3)
  const lines = gw.accessLogs()
  t.equal(lines.length, 3, 'three passes through the gateway')
  t.match(lines.filter((l) => l.route === undefined), [{ status: 508, error: 'loop_detected', path: '/loop' }], 'the third is refused before any route')
  t.match(lines.filter((l) => l.route !== undefined), [{ status: 508, pool: 'self' }, { status: 508, pool: 'self' }], 'the first two carry its answer back')
  t.equal(u.requests.length, 0)
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_refused_requests_total', { code: '508', error: 'loop_detected' })], 1, 'counted as a refusal')
})

t.test('the instance id outlives a reload (which builds the front half anew): a loop is still found', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = (trustedProxies: string[]) => ({ log: { level: 'info' }, server: { trustedProxies }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const gw = await startGateway(config([]) as GatewayConfig, { defaultMetrics: false, load: async () => validateConfig(config(['10.0.0.0/8'])) })
  t.teardown(() => gw.close())
  await (await fetch(`${gw.url}/a`)).arrayBuffer()
  t.equal((await gw.gateway.reload()).result, 'success')
  await (await fetch(`${gw.url}/b`)).arrayBuffer()
  t.match(viaOf(u, 0), [ENTRY])
  t.strictSame(viaOf(u, 1), viaOf(u, 0))
})

t.test('two gateway instances chained (an edge one in front of an internal one) serve the request', async (t) => {
  const { gw: inner, u } = await setup(t)
  const edge = await startGateway({ pools: { inner: { targets: [inner.url] } }, routes: [{ path: '/', pool: 'inner' }] }, { defaultMetrics: false })
  t.teardown(() => edge.close())
  const res = await fetch(`${edge.url}/chain`)
  await res.arrayBuffer()
  t.equal(res.status, 200)
  const via = viaOf(u)
  t.equal(via.length, 2, "the edge's entry, then the inner's")
  t.match(via, [ENTRY, ENTRY])
  t.not(via[0], via[1], 'each instance its own id')
})

t.test('a WebSocket upgrade carries the entry too', async (t) => {
  const { gw, u } = await setup(t)
  const { response, socket } = await rawHandshake(portOf(gw.url), 'GET /ws HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 lb\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  socket.destroy()
  t.equal(response.status, 101)
  t.match(viaOf(u), ['1.1 lb', ENTRY])
  t.equal(viaOf(u).length, 2)
})

// A request that comes back to the gateway instance is refused 508 loop_detected before it is routed
// (src/proxy/front.ts): the pass that finds it (the third) need not match any route. A route that strips its prefix
// and whose pool points back at the gateway sends '/api/api/x' round as '/api/x', then as '/x', which no route serves:
// that is still the loop, and it is the loop the client and the access log are told of, not a 404 no_route that
// would send the operator to the route table instead of the pool that points at the gateway.
t.test('a looped request whose third pass matches no route: 508 loop_detected, not 404 no_route', async (t) => {
  const { gw, u } = await selfPointing(t, { path: '/api', stripPrefix: true })
  const res = await fetch(`${gw.url}/api/api/x`)
  const body = await res.json() as { error: string }
  t.equal(res.status, 508)
  t.equal(body.error, 'loop_detected')
  const lines = gw.accessLogs()
  t.equal(lines.length, 3, 'three passes through the gateway')
  t.match(lines.find((l) => l.route === undefined), { status: 508, error: 'loop_detected', path: '/x' }, 'the third pass is refused as a loop')
  t.equal(u.requests.length, 0)
})
