import t from 'tap'
import type { FailureKind } from '../../src/resilience/classify.ts'
import { parseRetryAfter, RetryDecider, type RetryRequestFacts } from '../../src/resilience/retry.ts'
import { poolConfig } from './config-fixtures.ts'
import { noRandom, sequence } from './prng.ts'

const defaults = (random: () => number = noRandom): RetryDecider => new RetryDecider(poolConfig().retry, random)
const facts = (method: string, extra: Partial<RetryRequestFacts> = {}): RetryRequestFacts => ({ method, idempotencyKey: false, replayable: true, ...extra })

t.test('mayRetry: whether a body must be kept for a replay', async (t) => {
  const d = defaults()
  const cases: [method: string, key: boolean, want: boolean][] = [
    ['GET', false, true],
    ['PUT', false, true],
    ['DELETE', false, true],
    ['POST', false, true], // a connect failure may still be retried
    ['PATCH', false, true],
    ['TRACE', false, false],
    ['TRACE', true, true],
  ]
  for (const [method, key, want] of cases) t.equal(d.mayRetry(method, key), want, `${method} key=${key}`)
  const once = new RetryDecider(poolConfig({ retry: { attempts: 1 } }).retry, noRandom)
  for (const m of ['GET', 'POST']) t.equal(once.mayRetry(m, true), false, `attempts 1: ${m} never`)
})

t.test('retryableFailure', async (t) => {
  const d = defaults()
  const cases: [kind: FailureKind, req: RetryRequestFacts, want: boolean, why: string][] = [
    ['connect-failure', facts('GET'), true, 'GET connect failure'],
    ['connect-failure', facts('POST'), true, 'POST never left: retryable'],
    ['connect-failure', facts('PATCH'), true, 'PATCH never left: retryable'],
    ['connect-failure', facts('TRACE'), true, 'any method when it never left'],
    ['reset', facts('GET'), true, 'GET reset'],
    ['timeout', facts('GET'), true, 'GET timeout'],
    ['reset', facts('PUT'), true, 'PUT is idempotent'],
    ['reset', facts('DELETE'), true, 'DELETE is idempotent'],
    ['reset', facts('POST'), false, 'POST may have been processed'],
    ['timeout', facts('POST'), false, 'POST may have been processed'],
    ['reset', facts('PATCH'), false, 'PATCH may have been processed'],
    ['reset', facts('POST', { idempotencyKey: true }), true, 'POST with an idempotency key'],
    ['timeout', facts('POST', { idempotencyKey: true }), true, 'POST with an idempotency key'],
    ['timeout', facts('PATCH', { idempotencyKey: true }), true, 'PATCH with an idempotency key'],
    ['reset', facts('TRACE'), false, 'method not in the policy'],
    ['connect-failure', facts('GET', { replayable: false }), false, 'body not replayable'],
    ['connect-failure', facts('POST', { replayable: false, idempotencyKey: true }), false, 'body not replayable'],
    ['reset', facts('GET', { replayable: false }), false, 'body not replayable'],
    ['client-abort', facts('GET'), false, 'the client left'],
    ['client-abort', facts('POST', { idempotencyKey: true }), false, 'the client left'],
    ['bad-response', facts('GET'), false, 'not in retryOn'],
  ]
  for (const [kind, req, want, why] of cases) t.equal(d.retryableFailure(kind, req), want, `${kind} ${req.method}: ${why}`)

  const connectOnly = new RetryDecider(poolConfig({ retry: { retryOn: ['connect-failure', 503] } }).retry, noRandom)
  t.equal(connectOnly.retryableFailure('connect-failure', facts('GET')), true)
  t.equal(connectOnly.retryableFailure('reset', facts('GET')), false, 'reset not listed')
  t.equal(connectOnly.retryableFailure('timeout', facts('GET')), false, 'timeout not listed')
  const noConnect = new RetryDecider(poolConfig({ retry: { retryOn: ['reset'] } }).retry, noRandom)
  t.equal(noConnect.retryableFailure('connect-failure', facts('GET')), false, 'connect-failure not listed')
  // POST in retry.methods would silently never be retried: the config says so instead
  for (const method of ['POST', 'PATCH', 'CONNECT']) {
    t.throws(() => poolConfig({ retry: { methods: ['GET', method] } }), { code: 'invalid_config', problems: [/^pools\.p\.retry\.methods\[1\]: .*retry\.idempotencyKey/] }, `${method} is refused`)
  }
})

t.test('retryableStatus', async (t) => {
  const d = defaults()
  const cases: [status: number, req: RetryRequestFacts, want: boolean][] = [
    [502, facts('GET'), true],
    [503, facts('GET'), true],
    [504, facts('HEAD'), true],
    [500, facts('GET'), false],
    [429, facts('GET'), false],
    [200, facts('GET'), false],
    [404, facts('GET'), false],
    [503, facts('POST'), false],
    [503, facts('POST', { idempotencyKey: true }), true],
    [503, facts('TRACE'), false],
    [503, facts('GET', { replayable: false }), false],
  ]
  for (const [status, req, want] of cases) t.equal(d.retryableStatus(status, req), want, `${status} ${JSON.stringify(req)}`)
  const custom = new RetryDecider(poolConfig({ retry: { retryOn: [429] } }).retry, noRandom)
  t.equal(custom.retryableStatus(429, facts('GET')), true)
  t.equal(custom.retryableStatus(503, facts('GET')), false)
})

t.test('backoffMs: exponential ceiling with full jitter', async (t) => {
  // defaults: baseMs 25, maxMs 250 → ceilings 25, 50, 100, 200, 250, 250…
  const ceilings: [retry: number, ceiling: number][] = [[1, 25], [2, 50], [3, 100], [4, 200], [5, 250], [6, 250], [10, 250]]
  for (const [n, ceiling] of ceilings) {
    t.equal(defaults(() => 0).backoffMs(n), 0, `retry ${n}: lower bound 0`)
    t.equal(defaults(() => 0.999999).backoffMs(n), ceiling - 1, `retry ${n}: upper bound ${ceiling} (exclusive)`)
    t.equal(defaults(() => 0.5).backoffMs(n), Math.floor(ceiling / 2), `retry ${n}: midpoint`)
  }
  const d = new RetryDecider(poolConfig({ retry: { backoff: { baseMs: 0, maxMs: 0 } } }).retry, () => 0.7)
  t.equal(d.backoffMs(3), 0, 'zero backoff')
  const whole = defaults(sequence(0.123, 0.456))
  t.ok(Number.isInteger(whole.backoffMs(3)) && Number.isInteger(whole.backoffMs(4)), 'whole milliseconds')
})

t.test('backoffMs: Retry-After wins, capped at maxMs', async (t) => {
  const d = defaults() // random must not be consulted
  t.equal(d.backoffMs(1, 0), 0)
  t.equal(d.backoffMs(1, 1), 250, '1 s capped at 250 ms')
  t.equal(d.backoffMs(4, 120), 250)
  const roomy = new RetryDecider(poolConfig({ retry: { backoff: { baseMs: 25, maxMs: 5000 } } }).retry, noRandom)
  t.equal(roomy.backoffMs(1, 1), 1000)
  t.equal(roomy.backoffMs(1, 3), 3000)
  t.equal(roomy.backoffMs(1, 60), 5000)
  t.equal(defaults(() => 0.5).backoffMs(2, -1), 25, 'a negative Retry-After is ignored')
})

t.test('parseRetryAfter', async (t) => {
  const now = Date.UTC(2015, 9, 21, 7, 28, 0)
  const cases: [value: string | string[] | undefined, want: number | undefined][] = [
    [undefined, undefined],
    [[], undefined],
    ['0', 0],
    ['5', 5],
    ['120', 120],
    [' 7 ', 7],
    [['3', '9'], 3],
    ['Wed, 21 Oct 2015 07:29:00 GMT', 60],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 0],
    ['Wed, 21 Oct 2015 07:28:30 GMT', 30],
    ['Sunday, 21-Oct-15 07:30:00 GMT', 120], // obsolete RFC 850 form
    ['Wed, 21 Oct 2015 06:00:00 GMT', 0],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['', undefined],
    ['soon', undefined],
    ['5s', undefined],
    ['12abc', undefined],
    ['0x10', undefined],
    ['1e3', undefined],
  ]
  for (const [value, want] of cases) t.equal(parseRetryAfter(value, now), want, JSON.stringify(value))
})

t.test('parseRetryAfter refuses values that are neither delta-seconds nor an HTTP date', async (t) => {
  // RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds. Date.parse is far more lenient
  // (it reads '1.5' as 5 Jan 2001), so these come back as 0 = "retry at once" (see the report).
  const now = Date.UTC(2015, 9, 21, 7, 28, 0)
  for (const value of ['1.5', '-1', 'foo 1', '1 2']) t.equal(parseRetryAfter(value, now), undefined, JSON.stringify(value))
})
