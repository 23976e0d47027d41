// Slow and abusive clients: slowloris and slow bodies are cut at server.headersTimeoutMs / requestTimeoutMs,
// a crowd of them does not stop a normal client from being served, and clients that give up abort the
// upstream request at once without counting against the pool's breaker.
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { CountingUpstream } from '../helpers/counting-upstream.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import type { Tap } from '../proxy/setup.ts'
import { converse, type Conversation } from './wire.ts'

const HEADERS_TIMEOUT_MS = 300
const REQUEST_TIMEOUT_MS = 800
// Node checks these timeouts on server.connectionsCheckingInterval (30 s by default): until the gateway sets
// it from the configured timeouts, a slowloris lives for up to 30 s whatever headersTimeoutMs says

async function setup (t: Tap, pool: Record<string, unknown> = {}) {
  const u = await CountingUpstream.start()
  t.teardown(() => u.close())
  const gw = await startGateway({
    server: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    pools: { p: { targets: [u.url], retry: { attempts: 1 }, ...pool } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)
  const connections = (): Promise<number> => new Promise((resolve, reject) => gw.gateway.app.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
  return { u, gw, port, connections }
}

/**
 * The 408 was sent, or could not be: a client still writing when the server closes makes the server's kernel
 * answer with a reset, which throws away a 408 not yet on the wire (RFC 9293 §3.6). Any other answer, or a
 * connection left open, fails.
 */
function timedOut408 (t: Tap, res: Conversation): void {
  const status = res.responses[0]?.status
  t.ok(status === 408 || (res.responses.length === 0 && res.reset), `408, or a reset before any answer (got ${status ?? 'no answer'}, reset ${res.reset})`)
}

/** One plain GET on its own connection; resolves with the status and how long it took. */
function timedGet (port: number, path = '/'): Promise<{ status: number; ms: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    request({ port, host: '127.0.0.1', path, agent: false }, (res) => {
      res.resume()
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }))
    }).once('error', reject).end()
  })
}

t.test('slowloris (headers trickled) is answered 408 and closed at headersTimeoutMs (RFC 9110 §15.5.9)', async (t) => {
  const { u, port } = await setup(t)
  const started = performance.now()
  const pieces = Array.from({ length: 40 }, (_, i) => `X-Trickle-${i}: x\r\n`)
  const res = await converse(port, 'GET / HTTP/1.1\r\nHost: a.example\r\n', { pieces, pauseMs: 50, waitForClose: true, timeoutMs: 3000 })
  t.ok(res.closed, 'closed')
  t.ok(performance.now() - started < HEADERS_TIMEOUT_MS + 700, 'soon after headersTimeoutMs, not at the end of the trickle')
  timedOut408(t, res)
  t.equal(u.requests.length, 0, 'nothing reached the upstream')
})

t.test('a slow body is answered 408 and closed at requestTimeoutMs, and its upstream request aborted', async (t) => {
  const { u, port } = await setup(t)
  const started = performance.now()
  const pieces = Array.from({ length: 60 }, () => 'x')
  const res = await converse(port, 'POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100000\r\n\r\n', { pieces, pauseMs: 50, waitForClose: true, timeoutMs: 4000 })
  t.ok(res.closed, 'closed')
  t.ok(performance.now() - started < REQUEST_TIMEOUT_MS + 700, 'soon after requestTimeoutMs')
  timedOut408(t, res)
  t.equal(u.requests.length, 0, 'no complete request reached the upstream')
})

t.test('200 slowloris connections do not stop a normal client from being served', async (t) => {
  const { port } = await setup(t)
  const baseline: number[] = []
  for (let i = 0; i < 20; i++) baseline.push((await timedGet(port)).ms)
  const crowd: Socket[] = []
  t.teardown(() => { for (const s of crowd) s.destroy() })
  await Promise.all(Array.from({ length: 200 }, () => new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => { s.write('GET / HTTP/1.1\r\nHost: a.example\r\nX-Slow: '); resolve() })
    s.on('error', () => resolve())
    crowd.push(s)
  })))
  const during: { status: number; ms: number }[] = []
  for (let i = 0; i < 20; i++) during.push(await timedGet(port))
  t.strictSame(during.map((r) => r.status), Array(20).fill(200), 'every normal request answered 200')
  const worst = Math.max(...during.map((r) => r.ms))
  // generous bound on a shared machine; the soak measures p99 against the 2× target properly
  t.ok(worst < Math.max(250, 10 * Math.max(...baseline)), `worst latency ${worst.toFixed(1)} ms (baseline worst ${Math.max(...baseline).toFixed(1)} ms)`)
})

t.test('clients that give up abort their upstream request at once, and the breaker does not count them', async (t) => {
  const { u, gw, port, connections } = await setup(t, { circuitBreaker: { volumeThreshold: 5, errorThresholdPercentage: 10, rollingWindowMs: 10000 }, timeouts: { requestMs: 5000 } })
  u.delayMs = 2000
  const clients = 50
  const abortedAt: number[] = []
  await Promise.all(Array.from({ length: clients }, () => new Promise<void>((resolve) => {
    const req = request({ port, host: '127.0.0.1', path: '/slow', agent: false })
    req.on('error', () => resolve())
    req.end()
    setTimeout(() => { abortedAt.push(performance.now()); req.destroy(); resolve() }, 100)
  })))
  await waitFor(() => u.aborted === clients, 2000)
  t.equal(u.aborted, clients, 'every upstream request was aborted')
  // gateway, upstream and clients share one process on a shared (CI) machine, so only the behaviour is asserted
  // here: every abort long before the upstream would have answered (2 s) on its own. The 200 ms goal is measured
  // at full scale, in a process of its own, by `npm run stress:aborts`.
  const lastClient = Math.max(...abortedAt)
  const lags = u.abortedAt.map((at) => at - lastClient).sort((a, b) => a - b)
  t.comment(`median upstream abort ${lags[Math.floor(lags.length / 2)]!.toFixed(1)} ms after the clients', slowest ${lags.at(-1)!.toFixed(1)} ms`)
  t.ok(lags.at(-1)! < 1500, `slowest upstream abort ${lags.at(-1)!.toFixed(1)} ms after the clients'`)
  t.equal(gw.gateway.pools().get('p')!.breaker.state, 'closed', 'the breaker did not count client aborts')
  u.delayMs = 0
  t.equal((await timedGet(port)).status, 200, 'the pool still serves')
  await waitFor(async () => (await connections()) === 0)
  t.equal(gw.gateway.pools().get('p')!.pool.targets[0]!.inFlight, 0, 'nothing left in flight')
})
