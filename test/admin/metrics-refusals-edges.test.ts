// switchyard_refused_requests_total counts what the gateway answered itself before any route took the request,
// once, when it was given. Edges a review found: a routed request whose body Node's parser refused was counted as
// refused and as its route's 499 (now its route's 400/408, once); a connection that never sent a byte was logged
// and counted as a 408; a refusal queued behind a pipelined answer whose connection closed first was counted; an
// Expect other than 100-continue got Node's bare 417, seen nowhere; an overloaded gateway still opened tunnels.
import { connect } from 'node:net'
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { settlesWithin, startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

async function setup (t: Test, server: GatewayConfig['server'] = {}): Promise<{ gw: TestGateway; port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ server, pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, port: Number(new URL(gw.url).port), u }
}

/** Sends bytes on a new connection; what came back once it closed (or after waitMs). */
async function exchange (t: Test, port: number, bytes: string, waitMs = 3000): Promise<string> {
  const c = rawConnection(t, port)
  await c.connected
  if (bytes !== '') c.socket.write(bytes)
  await settlesWithin(c.closed, waitMs)
  c.socket.destroy()
  return c.received()
}

async function counted (gw: TestGateway): Promise<Record<string, number>> {
  const series = seriesOf(await gw.gateway.metrics!.render())
  return Object.fromEntries(Object.entries(series).filter(([k]) => /^switchyard_(refused_)?requests_total\{/.test(k)))
}

t.test("a routed request whose body the parser refuses: its route's 400, once", async (t) => {
  const { gw, port } = await setup(t)
  const answer = await exchange(t, port, 'POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n\r\n')
  t.match(answer, /^HTTP\/1\.1 400 /)
  await waitFor(() => gw.accessLogs().length > 0)
  t.strictSame(await counted(gw), { [key('switchyard_requests_total', { route: '*/api', pool: 'p', method: 'POST', code: '400' })]: 1 })
  t.strictSame(gw.accessLogs().map((l) => [l.status, l.error, l.aborted]), [[400, 'bad_request', undefined]])
})

t.test('a connection that never sent a byte is no request: not logged, not counted', async (t) => {
  const { gw, port } = await setup(t, { headersTimeoutMs: 300, requestTimeoutMs: 400 })
  t.match(await exchange(t, port, ''), /^HTTP\/1\.1 408 /, 'answered 408 as Node does')
  t.strictSame(await counted(gw), {})
  t.equal(gw.accessLogs().length, 0)
})

// (as its line says: the client left before it, 499 client_closed, not its own 414; test/proxy/pipelined-refusal-counted)
t.test('a refusal that was never written (the connection closed first) is counted as its client leaving, not as itself', async (t) => {
  const { gw, port, u } = await setup(t, { maxUrlBytes: 256 })
  u.delayMs = 1000
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`GET /api/slow HTTP/1.1\r\nHost: a\r\n\r\nGET /api/${'x'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`)
  await waitFor(() => u.requests.length === 1)
  socket.destroy()
  await waitFor(() => gw.accessLogs().length === 2)
  const refused = Object.entries(await counted(gw)).filter(([k]) => k.startsWith('switchyard_refused_requests_total'))
  t.strictSame(refused, [[key('switchyard_refused_requests_total', { code: '499', error: 'client_closed' }), 1]], 'the 414 never went out')
  t.same(gw.accessLogs().map((l) => l.status).sort(), [499, 499], 'and its line says 499 too')
})

t.test('an Expect other than 100-continue: the catalogue 417, counted', async (t) => {
  const { gw, port } = await setup(t)
  const answer = await exchange(t, port, 'GET /api HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\nConnection: close\r\n\r\n')
  t.match(answer, /^HTTP\/1\.1 417 /)
  t.match(answer, /"error":"expectation_failed"/)
  await waitFor(() => gw.accessLogs().length > 0)
  t.strictSame(await counted(gw), { [key('switchyard_refused_requests_total', { code: '417', error: 'expectation_failed' })]: 1 })
})

t.test('an overloaded gateway refuses upgrades as it refuses requests', async (t) => {
  const { gw, port } = await setup(t, { maxHeapUsedBytes: 1 })
  // the overload check samples on its own timer
  await waitFor(async () => { const r = await fetch(`${gw.url}/api`); await r.arrayBuffer(); return r.status === 503 }, 5000, 100)
  const answer = await exchange(t, port, 'GET /api/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  t.match(answer, /^HTTP\/1\.1 503 /)
  t.match(answer, /\r\nretry-after: 1\r\n/i)
  t.match(answer, /"error":"overloaded"/)
})
