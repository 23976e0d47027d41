// One attempt as an undici dispatch handler, driven directly: the test plays undici (a fake controller) and the
// client (a fake response), on a manual clock, against a real PoolRuntime whose targets nobody connects to.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { AttemptAborted } from '../../src/errors.ts'
import type { AttemptResult } from '../../src/proxy/attempt.ts'
import type { Exchange } from '../../src/proxy/exchange.ts'
import { codedError, exchange, runtimeFixture, startAttempt, type ExchangeInit, type Started } from './proxy-fakes.ts'

const PER_TRY = 2000
const REQUEST_MS = 30_000
const CLIENT_IDLE = 5000
const pool = { timeouts: { requestMs: REQUEST_MS, clientIdleMs: CLIENT_IDLE }, retry: { perTryTimeoutMs: PER_TRY } }

/** The parts of a result every case states in full (error and delayMs are checked where they matter). */
function outcome (r: AttemptResult | undefined): Pick<AttemptResult, 'responded' | 'failure' | 'retryable' | 'slotTaken'> | undefined {
  return r && { responded: r.responded, failure: r.failure, retryable: r.retryable, slotTaken: r.slotTaken }
}

/** The reason an attempt was aborted with, if it was. */
function abortReason (err: Error | null): string | undefined {
  return err instanceof AttemptAborted ? err.reason : undefined
}

/** One turn of the event loop: a timer's verdict waits for it (Attempt's #timeUp). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('the response timer: perTryTimeoutMs only when another attempt may follow, else the rest of the deadline', async (t) => {
  const cases: { name: string; earlier: number; attempts?: number; remainingMs?: number; init?: ExchangeInit; timer: number }[] = [
    { name: 'first of 3', earlier: 0, timer: PER_TRY },
    { name: 'second of 3', earlier: 1, timer: PER_TRY },
    { name: 'last of 3', earlier: 2, timer: REQUEST_MS },
    { name: 'the only attempt (attempts: 1)', earlier: 0, attempts: 1, timer: REQUEST_MS },
    { name: 'less left of the deadline than perTryTimeoutMs', earlier: 0, remainingMs: 500, timer: 500 },
    { name: 'last of 3, 700 ms left', earlier: 2, remainingMs: 700, timer: 700 },
    { name: 'a body that cannot be sent again', earlier: 0, init: { replayable: false }, timer: REQUEST_MS },
    { name: 'the deadline already passed', earlier: 1, remainingMs: -50, timer: 1 },
  ]
  for (const c of cases) {
    const fx = runtimeFixture(t, { ...pool, retry: { perTryTimeoutMs: PER_TRY, attempts: c.attempts ?? 3 } })
    const { ex } = exchange(fx, { ...c.init, ...(c.remainingMs !== undefined ? { remainingMs: c.remainingMs } : {}) })
    startAttempt(fx, ex, fx.targets[c.earlier]!, fx.targets.slice(0, c.earlier))
    t.same(fx.clock.dueIn(), [c.timer], `${c.name}: ${c.timer} ms`)
  }
})

t.test('a streamed upload: no response timer until it has been sent, a silence timer meanwhile', async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex } = exchange(fx, { body: new PassThrough(), replayable: false })
  const { attempt, results } = startAttempt(fx, ex)
  t.same(fx.clock.dueIn(), [CLIENT_IDLE], 'only the upload-silence timer')
  fx.clock.advance(CLIENT_IDLE - 1)
  attempt.onBodySent()
  t.same(fx.clock.dueIn(), [CLIENT_IDLE], 'each chunk sent restarts it')
  fx.clock.advance(CLIENT_IDLE - 1)
  attempt.onRequestSent()
  t.same(fx.clock.dueIn(), [REQUEST_MS], 'once sent: the response timer, with the whole of requestMs (as Envoy, the upload does not use it up)')
  t.same(results, [])
})

t.test('an upload that goes silent for clientIdleMs ends as request_timeout, not an upstream failure', async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex, res } = exchange(fx, { method: 'PUT', body: new PassThrough(), replayable: false })
  const { attempt, controller, results } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  fx.clock.advance(CLIENT_IDLE - 1)
  t.equal(controller.aborted, false)
  fx.clock.advance(1)
  t.equal(abortReason(controller.reason), 'upload_stalled')
  t.equal(ex.errorCode, 'request_timeout')
  t.equal(results.length, 1)
  t.same(outcome(results[0]), { responded: false, failure: undefined, retryable: false, slotTaken: false })
  t.equal(res.headersSent, false, 'the proxy answers 408 itself')
  t.same(fx.outlier, [`success ${fx.targets[0]!.id}`], 'the target did nothing wrong')
  t.same(fx.clock.dueIn(), [])
})

t.test('a timeout aborts the request with attempt_timeout and fails the attempt as a timeout', async (t) => {
  for (const [earlier, timer, retryable] of [[0, PER_TRY, true], [2, REQUEST_MS, false]] as const) {
    t.test(`${earlier} earlier attempts`, async (t) => {
      const fx = runtimeFixture(t, pool)
      const { ex, res } = exchange(fx)
      const target = fx.targets[earlier]!
      const { attempt, controller, results } = startAttempt(fx, ex, target, fx.targets.slice(0, earlier))
      attempt.onRequestStart(controller)
      fx.clock.advance(timer - 1)
      await nextTurn()
      t.equal(controller.aborted, false, 'not 1 ms before')
      fx.clock.advance(1)
      t.equal(controller.aborted, false, 'not before the loop has read what may be waiting (one turn)')
      await nextTurn()
      t.equal(abortReason(controller.reason), 'attempt_timeout')
      t.equal(results.length, 1)
      t.same(outcome(results[0]), { responded: false, failure: 'timeout', retryable, slotTaken: false })
      t.equal(results[0]!.delayMs, 0, 'no backoff (random source 0)')
      t.equal(results[0]!.error, controller.reason)
      t.equal(ex.errorCode, undefined, 'the proxy decides what to answer (a retry, or 504)')
      t.equal(res.headersSent, false)
      t.equal(target.inFlight, 0)
      t.same(fx.outlier, [`failure ${target.id}`])
    })
  }
})

t.test('an upstream answer: dropped for a retry, or passed to the client', async (t) => {
  interface Case {
    name: string
    status: number
    headers?: Record<string, string>
    init?: ExchangeInit
    earlier?: number
    pool?: Record<string, unknown>
    dropped: boolean
    failure?: 'status'
    delayMs?: number
    /** Budget refusals counted. */
    rejected?: number
  }
  const noBudget = { retry: { perTryTimeoutMs: PER_TRY, budget: { percent: 0, minConcurrent: 0 } } }
  const longBackoff = { retry: { perTryTimeoutMs: PER_TRY, backoff: { baseMs: 25, maxMs: 120_000 } } }
  const cases: Case[] = [
    { name: '503 on a GET, budget free', status: 503, dropped: true, failure: 'status' },
    { name: '502 on a GET', status: 502, dropped: true, failure: 'status' },
    { name: '504 on a DELETE', status: 504, init: { method: 'DELETE' }, dropped: true, failure: 'status' },
    { name: '503 with the budget spent', status: 503, pool: noBudget, dropped: false, failure: 'status', rejected: 1 },
    { name: '503 on a POST', status: 503, init: { method: 'POST' }, dropped: false, failure: 'status' },
    { name: '503 on a POST with an Idempotency-Key the pool honours', status: 503, init: { method: 'POST', idempotencyKey: true }, pool: { retry: { idempotencyKey: true } }, dropped: true, failure: 'status' },
    { name: '503 on the last attempt', status: 503, earlier: 2, dropped: false, failure: 'status' },
    { name: '503 with a body that cannot be sent again', status: 503, init: { replayable: false }, dropped: false, failure: 'status' },
    { name: '500 (not in retryOn, not a failure status)', status: 500, dropped: false },
    { name: '404', status: 404, dropped: false },
    { name: '200', status: 200, dropped: false },
    { name: 'Retry-After within the deadline', status: 503, headers: { 'retry-after': '10' }, pool: longBackoff, dropped: true, failure: 'status', delayMs: 10_000 },
    { name: 'Retry-After beyond the deadline', status: 503, headers: { 'retry-after': '60' }, pool: longBackoff, dropped: false, failure: 'status' },
    { name: 'Retry-After as an HTTP date, read on the gateway clock', status: 503, headers: { 'retry-after': 'date+20' }, pool: longBackoff, dropped: true, failure: 'status', delayMs: 20_000 },
    { name: 'Retry-After capped at backoff.maxMs', status: 503, headers: { 'retry-after': '60' }, dropped: true, failure: 'status', delayMs: 250 },
    { name: 'Retry-After on a 502 is not read', status: 502, headers: { 'retry-after': '60' }, pool: longBackoff, dropped: true, failure: 'status', delayMs: 0 },
  ]
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const fx = runtimeFixture(t, { ...pool, ...c.pool })
      const { ex, res } = exchange(fx, c.init)
      const earlier = c.earlier ?? 0
      const target = fx.targets[earlier]!
      const { attempt, controller, results } = startAttempt(fx, ex, target, fx.targets.slice(0, earlier))
      attempt.onRequestStart(controller)
      const headers: Record<string, string> = { 'content-type': 'text/plain', connection: 'keep-alive', 'keep-alive': 'timeout=5', ...c.headers }
      if (headers['retry-after'] === 'date+20') headers['retry-after'] = new Date(fx.clock.now() + 20_000).toUTCString()
      attempt.onResponseStart(controller, c.status, headers)
      attempt.onResponseData(controller, Buffer.from('body'))
      t.same(results, [], 'not over before the body has ended')
      attempt.onResponseEnd()
      const budget = fx.runtime.budget
      t.equal(results.length, 1)
      t.same(outcome(results[0]), { responded: !c.dropped, retryable: c.dropped, slotTaken: c.dropped, failure: c.failure })
      if (c.dropped) t.equal(results[0]!.delayMs, c.delayMs ?? 0, 'the wait before the retry')
      t.equal(budget.retriesInFlight, c.dropped ? 1 : 0, c.dropped ? 'a retry slot was taken for the next attempt' : 'no retry slot')
      t.equal(budget.rejected, c.rejected ?? 0)
      if (c.dropped) {
        t.equal(res.headersSent, false, 'nothing reaches the client')
        t.same(res.chunks, [])
        t.equal(res.ended, false)
      } else {
        t.equal(res.statusCode, c.status)
        t.same(res.headers, { 'content-type': 'text/plain', 'x-request-id': 'req-1', ...(c.headers?.['retry-after'] !== undefined ? { 'retry-after': headers['retry-after'] } : {}) }, 'hop-by-hop headers stripped, request id added')
        t.equal(res.body, 'body')
        t.equal(res.ended, true)
      }
      t.equal(target.inFlight, 0)
      t.same(fx.outlier, [`${c.failure === undefined ? 'success' : 'failure'} ${target.id}`])
      t.same(fx.clock.dueIn(), [], 'no timer left behind')
    })
  }
})

t.test('informational answers are ignored: the final one is passed on', async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex, res } = exchange(fx)
  const { attempt, controller, results } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 100, {})
  attempt.onResponseStart(controller, 103, { link: '</a.css>; rel=preload' })
  t.equal(res.headersSent, false)
  t.same(fx.clock.dueIn(), [PER_TRY], 'still waiting for the final answer, under the same timer')
  attempt.onResponseStart(controller, 200, { 'content-type': 'text/plain' })
  attempt.onResponseEnd()
  t.equal(res.statusCode, 200)
  t.same(res.headers, { 'content-type': 'text/plain', 'x-request-id': 'req-1' })
  t.same(outcome(results[0]), { responded: true, failure: undefined, retryable: false, slotTaken: false })
})

t.test('upstream errors: classified, retried by policy, or the response cut short once headers are out', async (t) => {
  const cases: { name: string; code: string; method?: string; afterHeaders?: boolean; failure: string | undefined; retryable: boolean; errorCode?: string }[] = [
    { name: 'refused on a GET', code: 'ECONNREFUSED', failure: 'connect-failure', retryable: true },
    { name: 'refused on a POST: it never left', code: 'ECONNREFUSED', method: 'POST', failure: 'connect-failure', retryable: true },
    { name: 'reset on a GET', code: 'ECONNRESET', failure: 'reset', retryable: true },
    { name: 'reset on a POST', code: 'ECONNRESET', method: 'POST', failure: 'reset', retryable: false },
    { name: 'an invalid response', code: 'HPE_INVALID_CONSTANT', failure: 'bad-response', retryable: false },
    { name: 'a request undici cannot send: the client is at fault', code: 'UND_ERR_INVALID_ARG', failure: undefined, retryable: false, errorCode: 'bad_request' },
    { name: 'reset mid-body', code: 'ECONNRESET', afterHeaders: true, failure: 'reset', retryable: false, errorCode: 'upstream_unreachable' },
    { name: 'silent mid-body past idleMs', code: 'UND_ERR_BODY_TIMEOUT', afterHeaders: true, failure: 'timeout', retryable: false, errorCode: 'upstream_timeout' },
    { name: 'a bad chunk size mid-body: the upstream\'s bytes, not the connection', code: 'HPE_INVALID_CHUNK_SIZE', afterHeaders: true, failure: 'bad-response', retryable: false, errorCode: 'upstream_bad_response' },
  ]
  for (const c of cases) {
    const fx = runtimeFixture(t, pool)
    const { ex, res } = exchange(fx, c.method === undefined ? {} : { method: c.method })
    const target = fx.targets[0]!
    const { attempt, controller, results } = startAttempt(fx, ex, target)
    attempt.onRequestStart(controller)
    if (c.afterHeaders) attempt.onResponseStart(controller, 200, {})
    const err = codedError(c.code)
    attempt.onResponseError(controller, err)
    t.equal(results.length, 1)
    t.same(outcome(results[0]), { responded: c.afterHeaders === true, failure: c.failure, retryable: c.retryable, slotTaken: false }, c.name)
    t.equal(results[0]!.error, err)
    t.equal(ex.errorCode, c.errorCode, `${c.name}: error code`)
    t.equal(ex.cutShortBy, c.afterHeaders ? c.errorCode : undefined, `${c.name}: cut short only once headers are out`)
    t.equal(res.destroyed, c.afterHeaders === true)
    t.same(fx.outlier, [`${c.failure === undefined ? 'success' : 'failure'} ${target.id}`], `${c.name}: outlier`)
    t.equal(target.inFlight, 0)
  }
})

t.test('a client that went away: the attempt ends and nothing is held against the target', async (t) => {
  for (const how of ['abort()', 'an upstream error after the client left'] as const) {
    const fx = runtimeFixture(t, pool)
    const { ex, res } = exchange(fx)
    const target = fx.targets[0]!
    const { attempt, controller, results } = startAttempt(fx, ex, target)
    attempt.onRequestStart(controller)
    ex.clientGone = true
    if (how === 'abort()') attempt.abort()
    else attempt.onResponseError(controller, codedError('ECONNRESET'))
    if (how === 'abort()') t.equal(abortReason(controller.reason), 'client_gone', `${how}: undici's request is aborted`)
    t.equal(results.length, 1)
    t.same(outcome(results[0]), { responded: false, failure: undefined, retryable: false, slotTaken: false }, how)
    t.same(fx.outlier, [], `${how}: neither a failure nor a success`)
    t.equal(ex.errorCode, undefined)
    t.equal(res.destroyed, false)
    t.equal(target.inFlight, 0)
    t.same(fx.clock.dueIn(), [])
  }
})

t.test('a client that stops reading is cut short with client_stalled after clientIdleMs', async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex, res } = exchange(fx)
  const target = fx.targets[0]!
  const { attempt, controller, results } = startAttempt(fx, ex, target)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 200, {})
  res.accepting = false
  attempt.onResponseData(controller, Buffer.from('a'))
  t.same(fx.clock.dueIn(), [CLIENT_IDLE], 'the response timer ended with the headers; the stall timer runs')
  fx.clock.advance(CLIENT_IDLE - 1)
  t.equal(controller.aborted, false)
  fx.clock.advance(1)
  t.equal(abortReason(controller.reason), 'client_stalled')
  t.equal(ex.cutShortBy, 'client_stalled')
  t.equal(ex.errorCode, 'client_stalled')
  t.equal(res.destroyed, true)
  t.equal(results.length, 1)
  t.same(outcome(results[0]), { responded: true, failure: undefined, retryable: false, slotTaken: false })
  t.same(fx.outlier, [`success ${target.id}`], 'not held against the target')
  t.equal(target.inFlight, 0)
  t.equal(res.listenerCount('drain'), 0)
})

t.test('backpressure: the upstream is paused while the client is full and resumed when it drains', async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex, res } = exchange(fx)
  const { attempt, controller, results } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 200, {})
  attempt.onResponseData(controller, Buffer.from('a'))
  t.equal(controller.pauses, 0, 'a write that fits does not pause')
  res.accepting = false
  attempt.onResponseData(controller, Buffer.from('b'))
  // undici may hand over the rest of a parsed buffer after pause()
  attempt.onResponseData(controller, Buffer.from('c'))
  t.equal(controller.pauses, 1, 'paused once')
  t.equal(res.listenerCount('drain'), 1, 'one drain wait')
  t.same(fx.clock.dueIn(), [CLIENT_IDLE], 'one stall timer')
  res.accepting = true
  res.emit('drain')
  t.equal(controller.resumes, 1)
  t.equal(controller.paused, false)
  t.same(fx.clock.dueIn(), [], 'the stall timer stops on drain')
  res.accepting = false
  attempt.onResponseData(controller, Buffer.from('d'))
  t.equal(controller.pauses, 2)
  t.equal(res.listenerCount('drain'), 1, 'still one drain wait')
  res.emit('drain')
  t.equal(controller.resumes, 2)
  attempt.onResponseEnd()
  t.equal(res.body, 'abcd', 'every chunk written, in order')
  t.equal(res.ended, true)
  t.equal(res.listenerCount('drain'), 0, 'the drain wait is removed when the attempt ends')
  t.equal(results.length, 1)
})

t.test('aborted while queued for a connection: settles at once, and aborts undici\'s request when it starts', async (t) => {
  for (const [how, reason, failure, retryable] of [
    ['the client left', 'client_gone', undefined, false],
    ['the response timer ran out', 'attempt_timeout', 'timeout', true],
  ] as const) {
    const fx = runtimeFixture(t, pool)
    const { ex } = exchange(fx)
    const target = fx.targets[0]!
    const { attempt, controller, results } = startAttempt(fx, ex, target)
    if (reason === 'client_gone') {
      ex.clientGone = true
      attempt.abort()
    } else {
      fx.clock.advance(PER_TRY)
      await nextTurn()
    }
    t.equal(results.length, 1, `${how}: settled without waiting for undici`)
    t.same(outcome(results[0]), { responded: false, failure, retryable, slotTaken: false }, how)
    t.equal(abortReason(results[0]!.error as Error), reason)
    t.equal(target.inFlight, 0)
    attempt.onRequestStart(controller)
    t.equal(controller.aborted, true, `${how}: aborted the moment it starts`)
    t.equal(controller.reason, results[0]!.error, 'with the same reason')
    t.equal(results.length, 1, 'the error undici then reports is ignored')
    t.equal(target.inFlight, 0, 'the target is released once, not twice')
  }
})

t.test('the target is released exactly once, however the attempt ends and whatever undici reports after', async (t) => {
  type Ending = (s: Started, ex: Exchange) => void
  const endings: [name: string, end: Ending, outlierCalls: number][] = [
    ['answered', (s) => { s.attempt.onResponseStart(s.controller, 200, {}); s.attempt.onResponseEnd() }, 1],
    ['failed', (s) => { s.attempt.onResponseError(s.controller, codedError('ECONNRESET')) }, 1],
    ['timed out', () => {}, 1],
    ['dropped for a retry', (s) => { s.attempt.onResponseStart(s.controller, 503, {}); s.attempt.onResponseEnd() }, 1],
    ['client gone', (s, ex) => { ex.clientGone = true; s.attempt.abort() }, 0],
  ]
  for (const [name, end, outlierCalls] of endings) {
    const fx = runtimeFixture(t, pool)
    const { ex } = exchange(fx)
    const target = fx.targets[0]!
    const started = startAttempt(fx, ex, target)
    started.attempt.onRequestStart(started.controller)
    end(started, ex)
    fx.clock.advance(PER_TRY)
    await nextTurn()
    // whatever arrives late is ignored
    started.attempt.onResponseEnd()
    started.attempt.onResponseError(started.controller, codedError('ECONNRESET'))
    started.attempt.abort()
    t.equal(target.inFlight, 0, `${name}: released once`)
    t.equal(started.results.length, 1, `${name}: resolved once`)
    t.equal(fx.outlier.length, outlierCalls, `${name}: outcome recorded once`)
  }
})

t.test('outlier detection hears of every outcome the upstream is responsible for', async (t) => {
  // consecutiveFailures 2: two failing attempts in a row eject the target, a success in between resets the count
  const sequences: [string, ('ok' | 'fail')[], boolean][] = [
    ['fail, fail', ['fail', 'fail'], true],
    ['fail, ok, fail', ['fail', 'ok', 'fail'], false],
    ['ok, fail', ['ok', 'fail'], false],
  ]
  for (const [name, outcomes, ejected] of sequences) {
    const fx = runtimeFixture(t, { ...pool, outlier: { consecutiveFailures: 2, maxEjectionPercent: 100 } })
    const target = fx.targets[0]!
    const results: AttemptResult[] = []
    for (const outcome of outcomes) {
      const { ex } = exchange(fx, { method: 'POST' })
      const s = startAttempt(fx, ex, target)
      s.attempt.onRequestStart(s.controller)
      s.attempt.onResponseStart(s.controller, outcome === 'ok' ? 200 : 502, {})
      s.attempt.onResponseEnd()
      results.push(...s.results)
    }
    t.same(fx.outlier, outcomes.map((o) => `${o === 'ok' ? 'success' : 'failure'} ${target.id}`), `${name}: each outcome recorded`)
    t.equal(fx.runtime.pool.status(target).ejectedUntil > fx.clock.now(), ejected, `${name}: ${ejected ? 'ejected' : 'not ejected'}`)
    t.equal(results.length, outcomes.length)
  }
})

t.test('large response chunks: an upstream read buffer is freed once its last write to the client completes', async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex, res } = exchange(fx)
  const { attempt, controller } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 200, {})
  // one read holding two body chunks (as a chunked body may arrive), then a read of its own
  const read = Buffer.alloc(64 * 1024, 'a')
  attempt.onResponseData(controller, read.subarray(0, 32 * 1024))
  attempt.onResponseData(controller, read.subarray(32 * 1024))
  const second = Buffer.alloc(20 * 1024, 'b')
  attempt.onResponseData(controller, second)
  t.equal(res.pendingCallbacks.length, 3, 'a callback per large write')
  t.equal(read.buffer.byteLength, 64 * 1024, 'nothing freed while its writes are in flight')
  res.pendingCallbacks.shift()!()
  t.equal(read.buffer.byteLength, 64 * 1024, 'still held by its other write')
  res.completeWrites()
  t.equal(read.buffer.detached, true, 'freed after its last write')
  t.equal(second.buffer.detached, true)
  attempt.onResponseData(controller, Buffer.alloc(100, 'c'))
  t.equal(res.pendingCallbacks.length, 0, 'small chunks are left to the GC')
  attempt.onResponseEnd()
  t.equal(res.body.length, 84 * 1024 + 100, 'every byte was written before anything was freed')
})

t.test('large response chunks: never freed when the upstream was paused on them, or when the write failed', async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex, res } = exchange(fx)
  const { attempt, controller } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 200, {})
  res.accepting = false
  const paused = Buffer.alloc(32 * 1024, 'a')
  attempt.onResponseData(controller, paused)
  t.equal(controller.paused, true)
  // undici keeps the rest of a read it was paused on, and hands over more of it later
  const rest = Buffer.alloc(32 * 1024, 'b')
  attempt.onResponseData(controller, rest)
  res.accepting = true
  res.completeWrites()
  t.equal(paused.buffer.detached, false, 'the read the upstream was paused on is kept')
  t.equal(rest.buffer.detached, false, 'and one handed over while paused')
  res.emit('drain')
  const failed = Buffer.alloc(32 * 1024, 'c')
  attempt.onResponseData(controller, failed)
  res.completeWrites(new Error('socket closed'))
  t.equal(failed.buffer.detached, false, 'a write that failed frees nothing')
})

t.test("large response chunks in Node's shared Buffer pool are never freed, and their writes' callbacks do not throw", async (t) => {
  const fx = runtimeFixture(t, pool)
  const { ex, res } = exchange(fx)
  const { attempt, controller } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 200, {})
  // a socket read of several buffered pieces is concatenated by Buffer.concat, which takes anything under half
  // of Buffer.poolSize from the pool: its memory holds other buffers' bytes, and Node marks it untransferable
  // (the pool in use may lack room for both: the concat then starts a new pool, and the next pair shares it)
  let neighbour = Buffer.allocUnsafe(64)
  let pooled = Buffer.concat([Buffer.alloc(12 * 1024, 'a'), Buffer.alloc(8 * 1024, 'b')])
  for (let tries = 0; tries < 3 && pooled.buffer !== neighbour.buffer; tries++) {
    neighbour = Buffer.allocUnsafe(64)
    pooled = Buffer.concat([Buffer.alloc(12 * 1024, 'a'), Buffer.alloc(8 * 1024, 'b')])
  }
  neighbour.fill('n')
  t.ok(pooled.length >= 16 * 1024 && pooled.buffer === neighbour.buffer, 'the chunk is a view into the same pool as another buffer')
  attempt.onResponseData(controller, pooled)
  t.doesNotThrow(() => res.completeWrites())
  t.equal(pooled.buffer.detached, false, 'the pool is left alone')
  t.equal(neighbour.toString(), 'n'.repeat(64), "and so are the other buffers' bytes")
  attempt.onResponseEnd()
  t.equal(res.body.length, 20 * 1024)
})

t.test('an abort signal carries its reason and code but no captured stack, and leaves the stack limit as it was', async (t) => {
  const limit = Error.stackTraceLimit
  for (const reason of ['client_gone', 'client_stalled', 'upload_stalled', 'attempt_timeout', 'body_too_large'] as const) {
    const err = AttemptAborted.signal(reason)
    t.ok(err instanceof AttemptAborted, reason)
    t.equal(err.reason, reason)
    t.equal(err.code, 'SWITCHYARD_ATTEMPT_ABORTED')
    t.notMatch(err.stack ?? '', /\n\s+at /, `${reason}: no stack frames`)
    t.equal(Error.stackTraceLimit, limit, `${reason}: Error.stackTraceLimit restored`)
  }
  // an ordinary error made afterwards still has its frames
  t.match(new Error('x').stack ?? '', /\n\s+at /)
})
