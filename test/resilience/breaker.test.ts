// Per-pool circuit breaker: opens on upstream failures (not 4xx, not client aborts), answers 503 circuit_open
// fast with Retry-After without touching the upstream, half-opens after resetTimeoutMs, leaves other pools alone,
// and logs each state change once.
import t from 'tap'
import type { Test } from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import type { TestGateway } from '../helpers/gateway.ts'
import { abortableGet, accessFor, call, gateway, median, runtime, upstreams } from './_util.ts'

type T = Test

const circuitBreaker = { errorThresholdPercentage: 50, volumeThreshold: 5, rollingWindowMs: 10_000, resetTimeoutMs: 500 }

async function setup (t: T, breaker: Record<string, unknown> = circuitBreaker) {
  const [p1, m1, m2] = await upstreams(t, 3)
  const common = { retry: { attempts: 1 }, outlier: { enabled: false } }
  const gw = await gateway(t, {
    pools: {
      payment: { targets: [p1!.url], circuitBreaker: breaker, ...common },
      member: { targets: [m1!.url, m2!.url], circuitBreaker: breaker, ...common },
    },
    routes: [{ path: '/payment', pool: 'payment' }, { path: '/member', pool: 'member' }],
  }, [p1!, m1!, m2!])
  return { p1: p1!, gw, payment: runtime(gw, 'payment').breaker, member: runtime(gw, 'member').breaker }
}

/** Breaker state-change log lines for a pool, in order. */
function breakerLog (gw: TestGateway, pool: string): unknown[] {
  return gw.logs.filter((l) => l.pool === pool && l.breaker !== undefined && l.msg !== 'request').map((l) => l.breaker)
}

async function open (t: T, gw: TestGateway, expectStatus: number): Promise<void> {
  for (let i = 0; i < 5; i++) t.equal((await call(gw.url, '/payment/pay')).status, expectStatus)
}

t.test('503s open the breaker: fast 503 circuit_open with Retry-After, upstream untouched, other pool unaffected', async (t) => {
  // a longer reset timeout than the other tests: this one looks at the open state for a while
  const { p1, gw, payment, member } = await setup(t, { ...circuitBreaker, resetTimeoutMs: 5000 })
  // warm the client and gateway up, so the timing below measures the breaker and not a cold start
  for (let i = 0; i < 20; i++) await call(gw.url, '/member/warm')
  p1.failCount = 1000
  await open(t, gw, 503)
  t.equal(payment.state, 'open')
  const hits = p1.hits

  const times: number[] = []
  for (let i = 0; i < 20; i++) {
    const r = await call(gw.url, '/payment/pay')
    t.equal(r.status, 503)
    t.equal(r.error, 'circuit_open')
    const retryAfter = Number(r.headers.get('retry-after'))
    t.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${r.headers.get('retry-after')}`)
    times.push(r.ms)
  }
  t.equal(p1.hits, hits, 'the upstream is not touched while open')
  const med = median(times)
  t.comment(`circuit_open answer: median ${med.toFixed(2)} ms over 20 requests (spec: < 5 ms)`)
  t.ok(med < 20, 'answered fast')

  // the other pool keeps 100% success, also concurrently with the broken one
  const [pay, mem] = await Promise.all([
    Promise.all(Array.from({ length: 20 }, () => call(gw.url, '/payment/pay'))),
    Promise.all(Array.from({ length: 20 }, () => call(gw.url, '/member/me'))),
  ])
  t.same(pay.map((r) => r.error), pay.map(() => 'circuit_open'))
  t.same(mem.map((r) => r.status), mem.map(() => 200))
  t.equal(member.state, 'closed')
  t.equal(p1.hits, hits)

  t.same(breakerLog(gw, 'payment'), ['open'], 'one log line for the state change, none per request')
  t.same(breakerLog(gw, 'member'), [])
  const openLine = gw.logs.find((l) => l.pool === 'payment' && l.breaker === 'open')!
  t.ok(openLine.level >= 40, 'logged at warn or above')
  await waitFor(() => accessFor(gw, '/payment').length === 45)
  t.equal(accessFor(gw, '/payment').filter((l) => l.error === 'circuit_open').length, 40)
})

t.test('refused connections open the breaker too', async (t) => {
  const { p1, gw, payment } = await setup(t)
  await p1.refuse()
  await open(t, gw, 502)
  t.equal(payment.state, 'open')
  const r = await call(gw.url, '/payment/pay')
  t.equal(r.status, 503)
  t.equal(r.error, 'circuit_open')
})

t.test('Retry-After counts whole seconds until half-open', async (t) => {
  const { p1, gw, payment } = await setup(t, { ...circuitBreaker, resetTimeoutMs: 3000 })
  p1.failCount = 1000
  await open(t, gw, 503)
  const r = await call(gw.url, '/payment/pay')
  t.equal(r.error, 'circuit_open')
  const retryAfter = Number(r.headers.get('retry-after'))
  t.ok(retryAfter >= 2 && retryAfter <= 3, `Retry-After ${retryAfter} for a 3 s reset timeout`)
  t.equal(payment.retryAfterSeconds(), retryAfter)
})

t.test('after resetTimeout one probe passes (half-open); success closes', async (t) => {
  const { p1, gw, payment } = await setup(t)
  p1.failCount = 1000
  await open(t, gw, 503)
  await waitFor(() => payment.state === 'half-open', 3000)
  p1.failCount = 0
  p1.delayMs = 150
  const hits = p1.hits
  const probe = call(gw.url, '/payment/pay')
  await waitFor(() => p1.hits === hits + 1)
  // while the probe is out, everyone else is still turned away
  const other = await call(gw.url, '/payment/pay')
  t.equal(other.error, 'circuit_open')
  t.equal((await probe).status, 200)
  t.equal(p1.hits, hits + 1, 'exactly one probe reached the upstream')
  t.equal(payment.state, 'closed')
  p1.delayMs = 0
  t.equal((await call(gw.url, '/payment/pay')).status, 200)
  t.same(breakerLog(gw, 'payment'), ['open', 'half-open', 'closed'])
})

t.test('after resetTimeout a failing probe reopens the breaker', async (t) => {
  const { p1, gw, payment } = await setup(t)
  p1.failCount = 1000
  await open(t, gw, 503)
  await waitFor(() => payment.state === 'half-open', 3000)
  const hits = p1.hits
  t.equal((await call(gw.url, '/payment/pay')).status, 503, 'the probe gets the upstream 503')
  t.equal(p1.hits, hits + 1)
  t.equal(payment.state, 'open')
  const r = await call(gw.url, '/payment/pay')
  t.equal(r.error, 'circuit_open')
  t.equal(p1.hits, hits + 1)
  t.same(breakerLog(gw, 'payment'), ['open', 'half-open', 'open'])
})

t.test('4xx answers never open it', async (t) => {
  const { p1, gw, payment } = await setup(t)
  for (let i = 0; i < 25; i++) t.equal((await call(gw.url, '/payment/pay?status=404')).status, 404)
  t.equal(payment.state, 'closed')
  t.equal(p1.hits, 25)
  t.same(breakerLog(gw, 'payment'), [])
})

t.test('client aborts never count', async (t) => {
  const { p1, gw, payment } = await setup(t)
  p1.mode = 'hang'
  for (let i = 0; i < 10; i++) {
    const hits = p1.hits
    const pending = abortableGet(gw.url, '/payment/pay')
    await waitFor(() => p1.hits === hits + 1)
    pending.abort()
    t.equal(await pending.done, 0, 'client gave up')
  }
  await waitFor(() => accessFor(gw, '/payment').length === 10)
  t.same(accessFor(gw, '/payment').map((l) => l.status), Array(10).fill(499))
  t.equal(payment.state, 'closed', '10 aborted requests (volumeThreshold 5) did not open it')
  p1.mode = 'answer'
  t.equal((await call(gw.url, '/payment/pay')).status, 200)
  t.same(breakerLog(gw, 'payment'), [])
})

t.test('circuitBreaker.enabled false: never opens, upstream failures are answered as usual', async (t) => {
  const { p1, gw, payment } = await setup(t, { ...circuitBreaker, enabled: false })
  p1.failCount = 1000
  for (let i = 0; i < 10; i++) {
    const r = await call(gw.url, '/payment/pay')
    t.equal(r.status, 503, "the upstream's 503 is passed on")
    t.equal(r.error, undefined, 'not a gateway error')
  }
  await p1.refuse()
  const r = await call(gw.url, '/payment/pay')
  t.equal(r.status, 502)
  t.equal(r.error, 'upstream_unreachable')
  t.equal(payment.state, 'closed')
  t.same(accessFor(gw, '/payment').filter((l) => l.error === 'internal_error').length, 0)
  t.same(gw.logs.filter((l) => l.level >= 50).map((l) => l.msg), [], 'no error-level log lines')
})

t.test('circuitBreaker.enabled false: retries still work', async (t) => {
  const [u1, u2] = await upstreams(t, 2)
  const gw = await gateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url], circuitBreaker: { enabled: false } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!])
  u1!.failCount = 1
  const r = await call(gw.url, '/x')
  t.equal(r.status, 200, 'a GET failing once on one target succeeds on the other')
  t.equal(r.upstream, 'u2')
  await waitFor(() => gw.accessLogs().length === 1)
  t.equal(gw.accessLogs()[0]!.attempts, 2)
})
