// Gaps found by mutation testing (review r41c; AH16, AH17, AH75, left open since review r37b
// as "an answer begun and not flushed at the moment a connection closes needs control of the kernel's socket
// buffers"). A refusal made before routing (414 uri_too_long) while its request waits behind a pipelined one is
// written into its connection at its turn. When the connection then closes before those bytes have left the
// gateway (the client's receive window full, then a reset; or the shutdown's cut), the answer had begun
// (Exchange.answerBegan: its head was handed to its connection), and it is logged and counted as itself, its status
// and its code agreeing (src/proxy/forward.ts #finish, `refusalSent`): it is not counted as 499 client_closed (AH16,
// AH75: the code dropped while the line keeps status 414), nor re-labelled shutdown_cut by the cut (AH17). The test
// stands in for a full kernel buffer by holding the gateway-side socket's writes from the refusal's bytes on: the
// write is pending in Node exactly as it is while the kernel takes no more, and its response never emits 'finish'.
// The same cut of a routed request's error answer (502 upstream_unreachable, begun, not flushed) is the shutdown's
// cut of a begun answer: logged shutdown_cut beside its status, as a streamed answer the cut ends is; only a refusal
// made before routing keeps its code (`refusalSent` is for `ex.route === undefined` alone, AP15).
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { ManualClock } from '../helpers/clock.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, logAndCounters, seriesOf } from '../unit/metrics-exposition.ts'

const TIMEOUT_MS = 1000
const REFUSED = `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`
const config = (u: TestUpstream): GatewayConfig => ({
  server: { maxUrlBytes: 256 },
  shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
  pools: { p: { targets: [u.url], retry: { attempts: 1 }, timeouts: { requestMs: 60_000 } } },
  routes: [{ path: '/api', pool: 'p', name: 'api' }],
})

type WritableInternals = Socket & {
  _write (chunk: Buffer | string, encoding: string, cb: (err?: Error | null) => void): void
  _writev (chunks: Array<{ chunk: Buffer | string }>, cb: (err?: Error | null) => void): void
}

/**
 * Every connection the gateway accepts takes no more bytes from the first write that carries `marker` on (held, as a
 * socket whose peer's window is closed); resolves the number of writes held so far.
 */
function holdWritesFrom (gw: TestGateway, marker: string): () => number {
  let held = 0
  gw.gateway.app.server.prependListener('connection', (socket: WritableInternals) => {
    let holding = false
    const write = socket._write
    const writev = socket._writev
    const holds = (chunks: ReadonlyArray<Buffer | string>): boolean => {
      if (!holding && chunks.some((c) => (typeof c === 'string' ? c : c.toString('latin1')).includes(marker))) holding = true
      if (holding) held++
      return holding
    }
    socket._write = function (chunk, encoding, cb) {
      if (holds([chunk])) return
      write.call(this, chunk, encoding, cb)
    }
    socket._writev = function (chunks, cb) {
      if (holds(chunks.map((c) => c.chunk))) return
      writev.call(this, chunks, cb)
    }
  })
  return () => held
}

async function setup (t: Test, clock?: ManualClock): Promise<{ gw: TestGateway; port: number; u: TestUpstream; held: () => number }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway(config(u), { defaultMetrics: false, ...(clock !== undefined ? { clock } : {}) })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, port: Number(new URL(gw.url).port), u, held: holdWritesFrom(gw, 'HTTP/1.1 414 ') }
}

t.test('a pipelined refusal written at its turn, its connection reset before the bytes left: logged and counted as itself', async (t) => {
  const { gw, port, u, held } = await setup(t)
  u.delayMs = 100
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(`GET /api/first HTTP/1.1\r\nHost: a\r\n\r\n${REFUSED}`)
  // the first is answered, and the refusal's turn comes: its bytes go to the connection and stay there
  await waitFor(() => held() > 0 && gw.accessLogs().length === 1)
  t.equal(gw.accessLogs().length, 1, 'the refusal has not finished')
  c.socket.resetAndDestroy()
  await waitFor(() => gw.accessLogs().length === 2)
  const refused = gw.accessLogs().find((l) => l.route === undefined)!
  t.match(refused, { status: 414, error: 'uri_too_long' }, 'its answer began: its own status and code')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_refused_requests_total', { code: '414', error: 'uri_too_long' })], 1, 'counted as the refusal it was given')
  t.equal(series[key('switchyard_refused_requests_total', { code: '499', error: 'client_closed' })], undefined, 'not as a client that left')
  const { logged, counted } = await logAndCounters(gw)
  t.same(counted, logged, 'each access-log line counted once, as logged')
})

t.test('a pipelined refusal written at its turn, its connection cut by the shutdown before the bytes left: keeps its code', async (t) => {
  const clock = new ManualClock()
  const { gw, port, u, held } = await setup(t, clock)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(`GET /api/first HTTP/1.1\r\nHost: a\r\n\r\n${REFUSED}`)
  await waitFor(() => held() > 0 && gw.accessLogs().length === 1)
  t.equal(u.hits, 1)
  const done = gw.gateway.shutdown()
  clock.advance(0)
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  // the refusal still waits to be flushed: the shutdown's timeout cuts its connection
  clock.advance(TIMEOUT_MS)
  await done
  await waitFor(() => gw.accessLogs().length === 2)
  const refused = gw.accessLogs().find((l) => l.route === undefined)!
  t.match(refused, { status: 414, error: 'uri_too_long' }, 'its answer began before the cut: its own status and code')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_refused_requests_total', { code: '414', error: 'uri_too_long' })], 1)
  t.equal(series[key('switchyard_refused_requests_total', { code: '503', error: 'shutdown_cut' })], undefined, 'not counted as a cut before its answer')
  const { logged, counted } = await logAndCounters(gw)
  t.same(counted, logged, 'each access-log line counted once, as logged')
})

t.test('a routed error answer begun and not flushed when the shutdown cuts it: shutdown_cut beside its status', async (t) => {
  const clock = new ManualClock()
  const gone = await TestUpstream.start({ name: 'gone' })
  await gone.close()
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
    pools: { p: { targets: [gone.url], retry: { attempts: 1 }, circuitBreaker: { enabled: false } } },
    routes: [{ path: '/api', pool: 'p', name: 'api' }],
  }, { defaultMetrics: false, clock })
  t.teardown(() => gw.close())
  const held = holdWritesFrom(gw, 'HTTP/1.1 502 ')
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => held() > 0)
  const done = gw.gateway.shutdown()
  clock.advance(0)
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  clock.advance(TIMEOUT_MS)
  await done
  await waitFor(() => gw.accessLogs().length === 1)
  t.match(gw.accessLogs()[0], { route: 'api', status: 502, error: 'shutdown_cut' }, 'cut by the shutdown after its head went out')
})
