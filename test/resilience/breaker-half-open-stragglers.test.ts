// A half-open breaker is judged by its probe. Requests admitted before it opened that end while it is half-open, and a
// probe that cannot get its answer, do not take the decision from it:
// - a request sent while closed whose client leaves while half-open used to count as a failed probe: it reopened
//   the breaker, and the real probe's success that followed was ignored;
// - a client trickling an upload became the probe and held the slot until the upload ended (up to
//   server.requestTimeoutMs, 300 s by default): every other request was refused circuit_open meanwhile. The probe
//   now holds its slot for the pool's perTryTimeoutMs at most.
import { request, type ServerResponse } from 'node:http'
import t from 'tap'
import type { BreakerState } from '../../src/resilience/breaker.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface Setup {
  gw: TestGateway
  states: BreakerState[]
  failing (on: boolean): void
  breakerState (): BreakerState
  /** Paths that reached the upstream, in order. */
  seen: string[]
  /** /hang requests whose upstream connection has closed (the gateway gave up on them). */
  hangsClosed (): number
  /** Answers the /probe requests held so far. */
  answerProbes (): void
}

async function setup (t: Tap, perTryTimeoutMs: number, requestMs = 30_000): Promise<Setup> {
  let fail = true
  const seen: string[] = []
  let hangsClosed = 0
  const heldProbes: ServerResponse[] = []
  const { url: upstream } = await serveOnLoopback(t, (req, res) => {
    seen.push(req.url ?? '')
    if (req.url === '/hang') return void res.on('close', () => { hangsClosed++ }) // never answers
    if (req.url === '/upload') return void req.resume().on('end', () => res.end('stored'))
    if (req.url === '/probe') return void heldProbes.push(res) // answered when the test says
    res.writeHead(fail ? 503 : 200, { 'content-length': '2' }).end('ok')
  })
  const gw = await startGateway({
    pools: {
      api: {
        targets: [upstream],
        // a body is buffered up to maxBufferBytes before it is sent: past it, it streams (and can trickle)
        retry: { attempts: 1, perTryTimeoutMs, maxBufferBytes: 1024 },
        timeouts: { requestMs },
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
  return {
    gw,
    states,
    failing: (on) => { fail = on },
    breakerState: () => breaker.state,
    seen,
    hangsClosed: () => hangsClosed,
    answerProbes: () => { for (const res of heldProbes.splice(0)) res.end('ok') },
  }
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
  await waitFor(() => s.seen.includes('/hang'), 5000) // admitted while closed: at the upstream
  await openThenHalfOpen(s)
  const probe = fetch(`${s.gw.url}/probe`).then((res) => res.status)
  await waitFor(() => s.seen.includes('/probe'), 5000) // the probe is admitted, its answer held
  old.destroy()
  await waitFor(() => s.hangsClosed() === 1, 5000) // the gateway saw the old client leave while half-open
  t.equal(s.breakerState(), 'half-open', 'still half-open when the old client has left')
  s.answerProbes()
  t.equal(await probe, 200, 'the probe is answered')
  await waitFor(() => s.breakerState() === 'closed', 1000)
  t.strictSame(s.states, ['open', 'half-open', 'closed'], 'closed by the probe; never reopened')
  t.equal((await fetch(`${s.gw.url}/x`)).status, 200)
})

t.test('a probe that trickles its upload holds the slot for perTryTimeoutMs at most', async (t) => {
  // the lease is not what is measured (the upload never ends, so any release is the lease's): long enough that the
  // request below is refused during it however slow the host
  const s = await setup(t, 1000)
  await openThenHalfOpen(s)
  const url = new URL(s.gw.url)
  const upload = request({ host: url.hostname, port: url.port, path: '/upload', method: 'POST', headers: { 'transfer-encoding': 'chunked' } })
  upload.on('error', () => {})
  upload.write('a'.repeat(2048))
  const trickle = setInterval(() => upload.write('b'), 100)
  t.teardown(() => { clearInterval(trickle); upload.destroy() })
  await waitFor(() => s.seen.includes('/upload'), 5000) // the upload is the probe: admitted, streaming upstream
  const during = await fetch(`${s.gw.url}/x`)
  t.equal(during.status, 503, 'while the upload probes, others are refused')
  t.equal(((await during.json()) as { error: string }).error, 'circuit_open')
  // refused until the lease ends, then the next request probes (the upload still trickles: only the lease frees it)
  let after = 0
  await waitFor(async () => {
    after = await fetch(`${s.gw.url}/x`).then(async (res) => { await res.arrayBuffer(); return res.status })
    return after === 200
  }, 5000, 50)
  t.equal(after, 200, 'past the lease the next request probes, and is answered')
  await waitFor(() => s.breakerState() === 'closed', 1000)
  t.strictSame(s.states, ['open', 'half-open', 'closed'])
})

t.test('a probe to an upstream that hangs reopens it when it times out, though its lease ran out first', async (t) => {
  // the lease is the per-try timeout, and a request's last try runs to the request's deadline: the lease ran out
  // first, and the breaker stayed half-open for as long as the upstream hung, a request let through to it at every
  // lease (a review, r43a: 277 s)
  const s = await setup(t, 300, 900)
  await openThenHalfOpen(s)
  const probe = await fetch(`${s.gw.url}/hang`)
  t.equal(probe.status, 504, 'the probe timed out')
  await probe.arrayBuffer()
  await waitFor(() => s.breakerState() === 'open', 1000)
  t.strictSame(s.states, ['open', 'half-open', 'open'], 'the timed-out probe reopened it')
})
