// A half-open breaker is judged by its probe. Requests admitted before it opened that end while it is half-open, and a
// probe that cannot get its answer, do not take the decision from it:
// - a request sent while closed whose client leaves while half-open used to count as a failed probe: it reopened
//   the breaker, and the real probe's success that followed was ignored;
// - a client trickling an upload became the probe and held the slot until the upload ended (up to
//   server.requestTimeoutMs, 300 s by default): every other request was refused circuit_open meanwhile. The probe
//   now holds its slot for the pool's perTryTimeoutMs at most.
import { request } from 'node:http'
import t from 'tap'
import type { BreakerState } from '../../src/resilience/breaker.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface Setup { gw: TestGateway; states: BreakerState[]; failing (on: boolean): void; breakerState (): BreakerState }

async function setup (t: Tap, perTryTimeoutMs: number): Promise<Setup> {
  let fail = true
  const { url: upstream } = await serveOnLoopback(t, (req, res) => {
    if (req.url === '/hang') return // never answers
    if (req.url === '/upload') return void req.resume().on('end', () => res.end('stored'))
    if (req.url === '/probe') return void setTimeout(() => res.end('ok'), 200)
    res.writeHead(fail ? 503 : 200, { 'content-length': '2' }).end('ok')
  })
  const gw = await startGateway({
    pools: {
      api: {
        targets: [upstream],
        // a body is buffered up to maxBufferBytes before it is sent: past it, it streams (and can trickle)
        retry: { attempts: 1, perTryTimeoutMs, maxBufferBytes: 1024 },
        outlier: { enabled: false },
        circuitBreaker: { volumeThreshold: 2, errorThresholdPercentage: 50, rollingWindowMs: 10_000, resetTimeoutMs: 300 },
      },
    },
    routes: [{ path: '/', pool: 'api' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const breaker = gw.gateway.pools().get('api')!.breaker
  const states: BreakerState[] = []
  breaker.on('state', (state) => states.push(state))
  return { gw, states, failing: (on) => { fail = on }, breakerState: () => breaker.state }
}

async function openThenHalfOpen (s: Setup): Promise<void> {
  for (let i = 0; i < 3; i++) await fetch(`${s.gw.url}/x`).then((res) => res.arrayBuffer())
  s.failing(false)
  await waitFor(() => s.breakerState() === 'half-open', 3000)
}

t.test('a request sent while closed, whose client leaves while half-open, does not reopen it', async (t) => {
  const s = await setup(t, 2000)
  const url = new URL(s.gw.url)
  const old = request({ host: url.hostname, port: url.port, path: '/hang' })
  old.on('error', () => {})
  old.end()
  await new Promise((resolve) => setTimeout(resolve, 100))
  await openThenHalfOpen(s)
  const probe = fetch(`${s.gw.url}/probe`).then((res) => res.status)
  await new Promise((resolve) => setTimeout(resolve, 50))
  old.destroy()
  t.equal(await probe, 200, 'the probe is answered')
  await waitFor(() => s.breakerState() === 'closed', 1000)
  t.strictSame(s.states, ['open', 'half-open', 'closed'], 'closed by the probe; never reopened')
  t.equal((await fetch(`${s.gw.url}/x`)).status, 200)
})

t.test('a probe that trickles its upload holds the slot for perTryTimeoutMs at most', async (t) => {
  const s = await setup(t, 300)
  await openThenHalfOpen(s)
  const url = new URL(s.gw.url)
  const upload = request({ host: url.hostname, port: url.port, path: '/upload', method: 'POST', headers: { 'transfer-encoding': 'chunked' } })
  upload.on('error', () => {})
  upload.write('a'.repeat(2048))
  const trickle = setInterval(() => upload.write('b'), 100)
  t.teardown(() => { clearInterval(trickle); upload.destroy() })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const during = await fetch(`${s.gw.url}/x`)
  t.equal(during.status, 503, 'while the upload probes, others are refused')
  t.equal(((await during.json()) as { error: string }).error, 'circuit_open')
  await new Promise((resolve) => setTimeout(resolve, 400))
  const after = await fetch(`${s.gw.url}/x`)
  t.equal(after.status, 200, 'past the lease the next request probes, and is answered')
  await waitFor(() => s.breakerState() === 'closed', 1000)
  t.strictSame(s.states, ['open', 'half-open', 'closed'])
})
