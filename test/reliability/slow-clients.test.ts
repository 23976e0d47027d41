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

async function setup (t: Tap, pool: Record<string, unknown> = {}, server = { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS }) {
  const u = await CountingUpstream.start()
  t.teardown(() => u.close())
  const gw = await startGateway({
    server,
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
  // a 5 s trickle: the bound below tells a close at headersTimeoutMs from one at its end on a starved host too
  const pieces = Array.from({ length: 100 }, (_, i) => `X-Trickle-${i}: x\r\n`)
  const res = await converse(port, 'GET / HTTP/1.1\r\nHost: a.example\r\n', { pieces, pauseMs: 50, waitForClose: true, timeoutMs: 6000 })
  t.ok(res.closed, 'closed')
  t.ok(performance.now() - started < HEADERS_TIMEOUT_MS + 2700, 'soon after headersTimeoutMs, not at the end of the trickle')
  timedOut408(t, res)
  t.equal(u.requests.length, 0, 'nothing reached the upstream')
})

t.test('a slow body is answered 408 and closed at requestTimeoutMs, and its upstream request aborted', async (t) => {
  const { u, port } = await setup(t)
  const started = performance.now()
  // a 6 s trickle, for the same reason
  const pieces = Array.from({ length: 120 }, () => 'x')
  const res = await converse(port, 'POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100000\r\n\r\n', { pieces, pauseMs: 50, waitForClose: true, timeoutMs: 7000 })
  t.ok(res.closed, 'closed')
  t.ok(performance.now() - started < REQUEST_TIMEOUT_MS + 2700, 'soon after requestTimeoutMs, not at the end of the trickle')
  timedOut408(t, res)
  t.equal(u.requests.length, 0, 'no complete request reached the upstream')
})

t.test('200 slowloris connections do not stop a normal client from being served', async (t) => {
  // the crowd lives through the measurement (with 300 ms, all 200 were cut in the middle of it, and that burst of
  // work was what was measured); a client they blocked would wait for headersTimeoutMs, far above the bound below
  const SLOWLORIS_HEADERS_TIMEOUT_MS = 10_000
  const { port } = await setup(t, {}, { headersTimeoutMs: SLOWLORIS_HEADERS_TIMEOUT_MS, requestTimeoutMs: 2 * SLOWLORIS_HEADERS_TIMEOUT_MS })
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
  // absolute and generous (a multiple of a quiet baseline fails on a host that stalls once); the soak measures p99
  // against the 2× target properly
  t.ok(worst < 2000, `worst latency ${worst.toFixed(1)} ms (baseline worst ${Math.max(...baseline).toFixed(1)} ms)`)
})

t.test('clients that give up abort their upstream request at once, and the breaker does not count them', async (t) => {
  // the upstream answers (and the gateway times out) long after the last request can have reached it: on a loaded
  // host the 50 arrive seconds apart, and one answered or timed out before its client left would not be an abort
  const { u, gw, port, connections } = await setup(t, {
    circuitBreaker: { volumeThreshold: 5, errorThresholdPercentage: 10, rollingWindowMs: 60_000 },
    timeouts: { requestMs: 60_000 },
    retry: { attempts: 1, perTryTimeoutMs: 60_000 },
  })
  u.delayMs = 30_000
  const clients = 50
  const abortedAt: number[] = []
  const sent = Array.from({ length: clients }, () => {
    const req = request({ port, host: '127.0.0.1', path: '/slow', agent: false })
    req.on('error', () => {})
    req.end()
    return req
  })
  // every request at the upstream first: a client that leaves before its request got there aborts nothing upstream
  await waitFor(() => u.requests.length === clients, 10_000)
  for (const req of sent) { abortedAt.push(performance.now()); req.destroy() }
  await waitFor(() => u.aborted === clients, 5000).catch(() => {}) // judged below, with the numbers
  t.equal(u.aborted, clients, 'every upstream request was aborted')
  // gateway, upstream and clients share one process on a shared (CI) machine, so only the behaviour is asserted
  // here: every abort within 1.5 s, long before the upstream would have answered (30 s) on its own. The 200 ms
  // goal is measured at full scale, in a process of its own, by `npm run stress:aborts`.
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
