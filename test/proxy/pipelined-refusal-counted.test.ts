// A request refused before routing (414 uri_too_long, 417 expectation_failed) while it waits behind a pipelined one
// has its answer queued in its response until its turn. If the connection closes first, that answer is never
// written: it was logged 414 and counted nowhere (.review-r37b finding 1). It is logged and counted as what the client
// got: 499 client_closed when the client left, 503 shutdown_cut when the shutdown cut it, its own code when written.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { ManualClock } from '../helpers/clock.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, logAndCounters, seriesOf } from '../unit/metrics-exposition.ts'

const TIMEOUT_MS = 1000
const config = (u: TestUpstream): GatewayConfig => ({
  server: { maxUrlBytes: 256 },
  shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
  pools: { p: { targets: [u.url], retry: { attempts: 1 }, timeouts: { requestMs: 60_000 } } },
  routes: [{ path: '/api', pool: 'p', name: 'api' }],
})

/** What each request was refused with, pipelined behind one still in flight. */
const REFUSED = {
  uri_too_long: `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`,
  expectation_failed: 'GET /api/x HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n',
}

async function setup (t: Test, clock?: ManualClock): Promise<{ gw: TestGateway; port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway(config(u), { defaultMetrics: false, ...(clock !== undefined ? { clock } : {}) })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, port: Number(new URL(gw.url).port), u }
}

for (const [code, bytes] of Object.entries(REFUSED)) {
  t.test(`${code} queued behind a pipelined request, its client gone first: 499 client_closed, logged and counted`, async (t) => {
    const { gw, port, u } = await setup(t)
    u.delayMs = 60_000
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(`GET /api/first HTTP/1.1\r\nHost: a\r\n\r\n${bytes}`)
    await waitFor(() => u.hits === 1)
    c.socket.destroy()
    await waitFor(() => gw.accessLogs().length === 2)
    const refused = gw.accessLogs().find((l) => l.route === undefined)!
    t.equal(refused.status, 499, 'its answer never reached the client')
    t.equal(refused.error, undefined, 'a client that left, as any request that waited its turn')
    t.equal(refused.aborted, true)
    const series = seriesOf(await gw.gateway.metrics!.render())
    t.equal(series[key('switchyard_refused_requests_total', { code: '499', error: 'client_closed' })], 1, 'counted as 499 client_closed')
    t.equal(series[key('switchyard_refused_requests_total', { code: code === 'uri_too_long' ? '414' : '417', error: code })], undefined, 'not as the refusal it never got')
    const { logged, counted } = await logAndCounters(gw)
    t.same(counted, logged, 'each access-log line counted once, as logged')
  })

  t.test(`${code} queued behind a pipelined request the shutdown cuts: 503 shutdown_cut, logged and counted`, async (t) => {
    const clock = new ManualClock()
    const { gw, port, u } = await setup(t, clock)
    u.delayMs = 60_000
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(`GET /api/first HTTP/1.1\r\nHost: a\r\n\r\n${bytes}`)
    // (both are parsed from one chunk: the refusal is queued before the first reaches the upstream)
    await waitFor(() => u.hits === 1)
    const done = gw.gateway.shutdown()
    clock.advance(0)
    await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
    clock.advance(TIMEOUT_MS)
    await done
    const refused = gw.accessLogs().find((l) => l.route === undefined)!
    t.match(refused, { status: 503, error: 'shutdown_cut' }, 'the shutdown cut it before its answer was written')
    t.equal(refused.aborted, undefined)
    const series = seriesOf(await gw.gateway.metrics!.render())
    t.equal(series[key('switchyard_refused_requests_total', { code: '503', error: 'shutdown_cut' })], 1)
    const { logged, counted } = await logAndCounters(gw)
    t.same(counted, logged, 'each access-log line counted once, as logged')
  })

  t.test(`${code} queued behind a pipelined request that is answered: written in its turn, counted as itself`, async (t) => {
    const { gw, port, u } = await setup(t)
    u.delayMs = 200
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(`GET /api/first HTTP/1.1\r\nHost: a\r\n\r\n${bytes}`)
    await waitFor(() => gw.accessLogs().length === 2)
    const status = code === 'uri_too_long' ? 414 : 417
    await waitFor(() => c.received().includes(`HTTP/1.1 ${status} `))
    t.match(gw.accessLogs().find((l) => l.route === undefined), { status, error: code })
    const series = seriesOf(await gw.gateway.metrics!.render())
    t.equal(series[key('switchyard_refused_requests_total', { code: String(status), error: code })], 1)
    const { logged, counted } = await logAndCounters(gw)
    t.same(counted, logged, 'each access-log line counted once, as logged')
  })
}
