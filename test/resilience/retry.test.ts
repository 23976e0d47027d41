// The retry policy: which failures and methods are retried, on which target, with which body,
// how Retry-After and the timeouts bound it, and what the client gets when every attempt fails.
// The gateway runs on a manual clock with a random source of 0 (no jittered backoff): a retry that must wait
// waits on that clock, and the timing tests move it, checking nothing happens before the due time.
import t from 'tap'
import type { Test } from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import type { LogRecord } from '../helpers/gateway.ts'
import { waitFor } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { call, gateway, runtime, upstreams } from './_util.ts'

type T = Test

async function setup (t: T, count = 2, extra: Record<string, unknown> = {}) {
  const ups = await upstreams(t, count)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { api: { targets: ups.map((u) => u.url), ...extra } },
    routes: [{ path: '/', pool: 'api' }],
  }, ups, { clock, random: () => 0 })
  /** The access-log line of the n-th request (waits for it: it is written when the response closes). */
  const access = async (n: number): Promise<LogRecord> => {
    await waitFor(() => gw.accessLogs().length > n, 2000)
    return gw.accessLogs()[n]!
  }
  const pool = runtime(gw, 'api').pool
  /** Attempts in flight at an upstream, as the gateway counts them (an attempt starts and ends synchronously there). */
  const inFlight = (u: TestUpstream): number => pool.targets.find((x) => x.url === u.url)!.inFlight
  return { ups, gw, access, clock, inFlight }
}

/** Lets pending callbacks and I/O run once. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const hits = (ups: readonly TestUpstream[]): number => ups.reduce((n, u) => n + u.hits, 0)

function noRepeats (t: T, targets: readonly unknown[]): void {
  for (let i = 1; i < targets.length; i++) t.not(targets[i], targets[i - 1], `attempt ${i + 1} is not on the target attempt ${i} failed on`)
}

t.test('the default retry policy', async (t) => {
  const { gw } = await setup(t)
  const retry = gw.gateway.config.pools.api!.retry
  t.equal(retry.attempts, 3)
  t.same([...retry.retryOn], ['connect-failure', 'reset', 'timeout', 502, 503, 504])
  t.same([...retry.methods], ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
  t.same({ ...retry.backoff }, { baseMs: 25, maxMs: 250 })
  t.equal(retry.perTryTimeoutMs, 2000)
})

t.test('a GET failing once on A succeeds on a different target B', async (t) => {
  const { ups: [a, b], gw, access } = await setup(t)
  a!.failCount = 1
  const r = await call(gw.url, '/x')
  t.equal(r.status, 200)
  t.equal(r.upstream, 'u2')
  t.equal(a!.hits, 1)
  t.equal(b!.hits, 1)
  const line = await access(0)
  t.equal(line.attempts, 2)
  t.same(line.targets, [a!.url, b!.url])
  t.equal(line.target, b!.url)
})

t.test('idempotent methods are retried on 503', async (t) => {
  const { ups: [a, b], gw, access } = await setup(t)
  let n = 0
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
    // whichever target goes first fails, then the other fails, then the first answers
    a!.failCount = 1
    b!.failCount = 1
    const r = await call(gw.url, '/x', { method })
    t.equal(r.status, 200, method)
    t.equal((await access(n++)).attempts, 3, `${method}: three attempts`)
  }
})

t.test('never the same target twice in a row when there is a choice', async (t) => {
  // outlier detection off: an ejection would leave no choice
  t.test('two targets, every attempt fails', async (t) => {
    const { ups, gw, access } = await setup(t, 2, { circuitBreaker: { volumeThreshold: 1000 }, outlier: { enabled: false } })
    for (const u of ups) u.failCount = 1000
    for (let i = 0; i < 4; i++) {
      t.equal((await call(gw.url, '/x')).status, 503)
      const line = await access(i)
      t.equal(line.attempts, 3)
      noRepeats(t, line.targets as unknown[])
    }
  })
  t.test('three targets, every attempt fails: three different targets', async (t) => {
    const { ups, gw, access } = await setup(t, 3, { circuitBreaker: { volumeThreshold: 1000 }, outlier: { enabled: false } })
    for (const u of ups) u.failCount = 1000
    for (let i = 0; i < 3; i++) {
      t.equal((await call(gw.url, '/x')).status, 503)
      const line = await access(i)
      t.equal(new Set(line.targets as unknown[]).size, 3)
    }
  })
})

t.test('POST is not retried after a 503', async (t) => {
  const { ups, gw, access } = await setup(t)
  ups[0]!.failCount = 1
  const r = await call(gw.url, '/x', { method: 'POST', body: 'hello' })
  t.equal(r.status, 503, "the upstream's 503 as is")
  t.equal(hits(ups), 1)
  t.equal((await access(0)).attempts, 1)
})

t.test('POST is not retried after a reset', async (t) => {
  const { ups, gw, access } = await setup(t)
  ups[0]!.mode = 'reset-before-response'
  const r = await call(gw.url, '/x', { method: 'POST', body: 'hello' })
  t.equal(r.status, 502)
  t.equal(r.error, 'upstream_unreachable')
  t.equal(hits(ups), 1, 'the upstream got exactly one request')
  t.equal((await access(0)).attempts, 1)
})

t.test('POST is retried on a connect failure (it never reached the upstream)', async (t) => {
  const { ups: [a, b], gw, access } = await setup(t)
  await a!.refuse()
  const body = 'x'.repeat(1000)
  const r = await call(gw.url, '/x', { method: 'POST', body })
  t.equal(r.status, 200)
  t.equal(r.upstream, 'u2')
  t.equal(b!.hits, 1)
  t.equal(b!.requests[0]!.bodyBytes, body.length, 'the whole body reached the second target')
  const line = await access(0)
  t.equal(line.attempts, 2)
  t.same(line.targets, [a!.url, b!.url])
})

t.test('POST with Idempotency-Key', async (t) => {
  t.test('is retried on 503 when the pool has retry.idempotencyKey: true', async (t) => {
    const { ups: [a, b], gw, access } = await setup(t, 2, { retry: { idempotencyKey: true } })
    a!.failCount = 1
    const r = await call(gw.url, '/x', { method: 'POST', body: 'pay 5', headers: { 'idempotency-key': 'k-1' } })
    t.equal(r.status, 200)
    t.equal(r.upstream, 'u2')
    t.equal(b!.requests[0]!.headers['idempotency-key'], 'k-1')
    t.equal(b!.requests[0]!.bodyBytes, 5)
    t.equal((await access(0)).attempts, 2)
  })
  t.test('is not retried without it (default false)', async (t) => {
    const { ups, gw, access } = await setup(t)
    ups[0]!.failCount = 1
    const r = await call(gw.url, '/x', { method: 'POST', body: 'pay 5', headers: { 'idempotency-key': 'k-1' } })
    t.equal(r.status, 503)
    t.equal(hits(ups), 1)
    t.equal((await access(0)).attempts, 1)
  })
  t.test('POST without the header is not retried even with retry.idempotencyKey: true', async (t) => {
    const { ups, gw, access } = await setup(t, 2, { retry: { idempotencyKey: true } })
    ups[0]!.failCount = 1
    t.equal((await call(gw.url, '/x', { method: 'POST', body: 'pay 5' })).status, 503)
    t.equal(hits(ups), 1)
    t.equal((await access(0)).attempts, 1)
  })
})

for (const [name, maxMs, retryAfter, waitMs] of [
  ["an upstream 503's Retry-After is honoured", 2000, '1', 1000],
  ['Retry-After is capped at backoff.maxMs', 300, '60', 300],
] as const) {
  t.test(name, async (t) => {
    const { ups: [a, b], gw, access, clock, inFlight } = await setup(t, 2, { retry: { backoff: { baseMs: 25, maxMs } } })
    a!.failCount = 1
    a!.failHeaders = { 'retry-after': retryAfter }
    const reply = call(gw.url, '/x')
    // the 503 was read and dropped (A's attempt is over); the one timer left is the wait before the retry
    await waitFor(() => a!.hits === 1 && inFlight(a!) === 0 && clock.pendingTimers === 1)
    t.same(clock.dueIn(), [waitMs], `Retry-After: ${retryAfter} with maxMs ${maxMs}: the retry waits ${waitMs} ms`)
    clock.advance(waitMs - 1)
    await tick()
    t.equal(inFlight(b!), 0, 'no retry 1 ms before')
    t.equal(b!.hits, 0)
    clock.advance(1)
    await waitFor(() => b!.hits === 1)
    const r = await reply
    t.equal(r.status, 200)
    t.equal(r.upstream, 'u2')
    t.equal((await access(0)).attempts, 2)
  })
}

t.test('perTryTimeoutMs: a hanging target is abandoned and the retry on another target succeeds', async (t) => {
  const { ups: [a, b], gw, access, clock, inFlight } = await setup(t, 2, { retry: { perTryTimeoutMs: 200 } })
  a!.mode = 'hang'
  const reply = call(gw.url, '/x')
  await waitFor(() => a!.hits === 1)
  t.same(clock.dueIn(), [200], 'the first attempt may take perTryTimeoutMs (a retry could follow)')
  clock.advance(199)
  await tick()
  t.equal(inFlight(a!), 1, 'A still has its attempt 1 ms before perTryTimeoutMs')
  t.equal(b!.hits, 0)
  clock.advance(1)
  const r = await reply
  t.equal(r.status, 200)
  t.equal(r.upstream, 'u2')
  t.equal(a!.hits, 1)
  t.equal(b!.hits, 1)
  const line = await access(0)
  t.equal(line.attempts, 2)
  t.same(line.targets, [a!.url, b!.url])
})

t.test('timeouts.requestMs bounds all attempts together', async (t) => {
  // per attempt, the timer it got: perTryTimeoutMs within the deadline, the last attempt the rest of it
  for (const [perTryTimeoutMs, timers] of [[2000, [500]], [200, [200, 200, 100]]] as const) {
    t.test(`perTryTimeoutMs ${perTryTimeoutMs}`, async (t) => {
      const { ups, gw, access, clock } = await setup(t, 2, { timeouts: { requestMs: 500 }, retry: { perTryTimeoutMs } })
      for (const u of ups) u.mode = 'hang'
      const start = clock.now()
      const reply = call(gw.url, '/x')
      const inFlightAll = (): number => runtime(gw, 'api').pool.targets.reduce((n, x) => n + x.inFlight, 0)
      for (const [i, ms] of timers.entries()) {
        await waitFor(() => hits(ups) === i + 1 && inFlightAll() === 1)
        t.same(clock.dueIn(), [ms], `attempt ${i + 1} times out after ${ms} ms`)
        if (i < timers.length - 1) {
          clock.advance(ms)
          continue
        }
        clock.advance(ms - 1)
        await tick()
        t.equal(inFlightAll(), 1, 'the last attempt still runs 1 ms before requestMs')
        clock.advance(1)
      }
      const r = await reply
      t.equal(r.status, 504)
      t.equal(r.error, 'upstream_timeout')
      t.equal(clock.now() - start, 500, 'answered when the clock reached requestMs')
      t.equal((await access(0)).attempts, timers.length)
      t.equal(hits(ups), timers.length, 'no attempt past the deadline')
    })
  }
})

t.test('after every attempt fails on upstream 503s the client gets the last upstream 503 as is', async (t) => {
  const { ups, gw, access } = await setup(t)
  for (const u of ups) {
    u.failCount = 1000
    u.failHeaders = { 'x-failed-by': u.name, 'retry-after': '0' }
  }
  const r = await call(gw.url, '/x')
  t.equal(r.status, 503)
  t.equal(r.error, undefined, 'not a gateway error body')
  t.match(r.headers.get('content-type'), /^text\/plain/)
  const line = await access(0)
  t.equal(line.attempts, 3)
  t.equal(hits(ups), 3)
  const lastTarget = (line.targets as string[])[2]
  t.equal(r.headers.get('x-failed-by'), ups.find((u) => u.url === lastTarget)!.name, 'the response of the last attempt')
  t.equal(line.status, 503)
})

// A body over maxBufferBytes streams to the upstream and cannot be replayed: its one attempt's answer goes to
// the client as is, and its access-log line counts the bytes streamed; a body within the limit is buffered
// and replayed on the retry.
// ...unless the first target refused the connection: undici reads a streamed body only once connected, so the
// whole body is still there for the next target.
t.test('a streamed body whose first target refused the connection goes whole to the next target', async (t) => {
  const { ups: [a, b], gw, access } = await setup(t, 2, { retry: { maxBufferBytes: 100 * 1024 } })
  await a!.refuse()
  const big = Buffer.alloc(150 * 1024, 'b')
  const r = await call(gw.url, '/x', { method: 'POST', body: big })
  t.equal(r.status, 200)
  t.equal(r.upstream, 'u2')
  t.equal(b!.requests[0]!.bodyBytes, big.length, 'the body arrived whole')
  const line = await access(0)
  t.equal(line.attempts, 2)
  t.equal(line.bytesIn, big.length)

  // a reset after the body started to flow is not retried: the upstream may have acted on it
  await a!.restore()
  a!.mode = 'reset-before-response'
  b!.mode = 'reset-before-response'
  const r2 = await call(gw.url, '/x', { method: 'PUT', body: big })
  t.equal(r2.status, 502)
  t.equal((await access(1)).attempts, 1)
})

t.test('a body larger than retry.maxBufferBytes is sent once and not retried', async (t) => {
  const { ups: [a, b], gw, access } = await setup(t, 2, { retry: { maxBufferBytes: 100 * 1024 } })
  a!.failCount = 1
  const big = Buffer.alloc(150 * 1024, 'b')
  const r = await call(gw.url, '/x', { method: 'PUT', body: big })
  t.equal(r.status, 503, "the upstream's 503 as is")
  t.equal(a!.hits, 1)
  t.equal(a!.requests[0]!.bodyBytes, big.length, 'the body was streamed whole')
  t.equal(b!.hits, 0)
  const line = await access(0)
  t.equal(line.attempts, 1, 'access-log line written, one attempt')
  t.equal(line.bytesIn, big.length, 'counting the streamed body')

  // a body within the limit is buffered and replayed
  const small = Buffer.alloc(50 * 1024, 's')
  b!.failCount = 1 // round-robin: the next request goes to b first
  const r2 = await call(gw.url, '/x', { method: 'PUT', body: small })
  t.equal(r2.status, 200)
  t.equal(r2.upstream, 'u1')
  t.equal(a!.requests[1]!.bodyBytes, small.length)
  const line2 = await access(1)
  t.equal(line2.attempts, 2)
  t.equal(line2.bytesIn, small.length)
})
