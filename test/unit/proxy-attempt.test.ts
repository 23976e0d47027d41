// One attempt of a request on a target (src/proxy/attempt.ts): each subtest is one behaviour, named as its file was.
import t from 'tap'
import { AttemptAborted } from '../../src/errors.ts'
import { codedError, exchange, type ExchangeInit, type FakeResponse, runtimeFixture, startAttempt, type Started } from './proxy-fakes.ts'
import { PassThrough } from 'node:stream'
import type { AttemptResult } from '../../src/proxy/attempt.ts'
import type { Exchange } from '../../src/proxy/exchange.ts'

// README, upstream_busy: "the per-try or overall deadline ran out while the request waited for one of the target's
// connections (all connections.maxPerTarget open and busy)": it never reached the upstream, so it is 503
// upstream_busy, counted against nobody. What decides is whether the request still waits in the target's queue when
// its timer runs out, not how many connections are open: one that undici had not started but that a connection is
// being opened for (it took the last one, or a reload's higher limit opened one for it) met a target slow to accept,
// and the timeout is the target's. (src/proxy/attempt.ts, #poolFull: `this.#target.client.waiting(this)`.)
t.test('proxy-attempt-busy-at-connection-limit', async (t) => {
  const PER_TRY = 2000
  const pool = { timeouts: { requestMs: 30_000 }, retry: { perTryTimeoutMs: PER_TRY }, connections: { maxPerTarget: 2 } }

  /** One turn of the event loop: a timer's verdict waits for it (Attempt's #timeUp). */
  const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

  for (const busy of [true, false]) {
    t.test(`${busy ? 'still queued' : 'handed to a connection being opened'} when the timer runs out before undici started the attempt: ${busy ? 'upstream_busy' : 'a timeout'}`, async (t) => {
      const fx = runtimeFixture(t, pool)
      const target = fx.targets[0]!
      const { ex } = exchange(fx)
      const { attempt, controller, results } = startAttempt(fx, ex, target)
      Object.defineProperty(target.client, 'waiting', { value: (handler: unknown) => busy && handler === attempt })
      t.equal(results[0], undefined)
      fx.clock.advance(PER_TRY)
      await nextTurn()
      t.equal(results.length, 1, 'the attempt ended')
      t.equal(controller.aborted, false, 'undici never started it')
      t.ok(results[0]!.error instanceof AttemptAborted && results[0]!.error.reason === 'attempt_timeout')
      if (busy) {
        t.equal(results[0]!.busy, true, 'it waited for a connection to come free')
        t.equal(ex.errorCode, undefined, 'the request\'s code is its answer\'s, set when no retry answers (forward.ts)')
        t.equal(results[0]!.failure, undefined, 'no failure of the target')
        t.same(fx.outlier, [], 'outlier detection hears nothing of it')
      } else {
        t.equal(results[0]!.busy, false)
        t.equal(results[0]!.failure, 'timeout', 'the target was slow to accept: its failure (504 upstream_timeout)')
        t.same(fx.outlier, [`failure ${target.id}`])
      }
    })
  }
})

// The upstream is paused only once more than PAUSE_BYTES (256 KiB) wait in the client's socket queue, not each time
// write() says "full": a 64 KiB read is as large as the socket's high-water mark, so write() says so for nearly every
// chunk of a large body, and a client that keeps up must not cost a pause, a stall timer and a resume per chunk.
// Past the threshold the upstream is paused and the stall watch (clientIdleMs) armed. (src/proxy/attempt.ts,
// onResponseData: `!written && res.writableLength > PAUSE_BYTES`.) The test plays undici and the client.
t.test('proxy-attempt-pause-threshold', async (t) => {
  const CLIENT_IDLE = 5000
  const KIB = 1024

  t.test('write() says full with 64 KiB queued: no pause; with more than 256 KiB queued: paused, stall watch armed', async (t) => {
    const fx = runtimeFixture(t, { timeouts: { requestMs: 30_000, clientIdleMs: CLIENT_IDLE } })
    const { ex, res } = exchange(fx)
    // a client socket whose queue the test sets: write() reports full (over the 16 KiB high-water mark)
    let queued = 0
    Object.defineProperty(res, 'writableLength', { get: () => queued })
    res.accepting = false
    const { attempt, controller, results } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    attempt.onResponseStart(controller, 200, { 'content-length': String(1024 * KIB) }, 'OK')
    t.equal((res as FakeResponse).statusCode, 200)
    const timersBefore = fx.clock.pendingTimers

    queued = 64 * KIB
    attempt.onResponseData(controller, Buffer.alloc(64 * KIB))
    t.equal(controller.pauses, 0, 'not paused while the client holds under 256 KiB')
    t.equal(fx.clock.pendingTimers, timersBefore, 'no stall watch armed')
    fx.clock.advance(CLIENT_IDLE * 2)
    t.equal(results.length, 0, 'nor cut: the attempt goes on')

    queued = 256 * KIB + 1
    attempt.onResponseData(controller, Buffer.alloc(64 * KIB))
    t.equal(controller.pauses, 1, 'paused past 256 KiB')
    t.ok(fx.clock.dueIn().includes(CLIENT_IDLE), 'stall watch armed for clientIdleMs')
  })

  // Paused, the watch is for a client that takes nothing for clientIdleMs, not for one slower than the upstream: one
  // that took some of its queue within the period (without emptying it, which would resume the upstream) is given
  // another clientIdleMs each time, as nginx's send_timeout; timed to the queue's drain, it was cut client_stalled.
  t.test('paused: a client that takes some of its queue in each clientIdleMs is not cut; one that takes nothing is', async (t) => {
    const fx = runtimeFixture(t, { timeouts: { requestMs: 30_000, clientIdleMs: CLIENT_IDLE } })
    const { ex, res } = exchange(fx)
    let queued = 0
    Object.defineProperty(res, 'writableLength', { get: () => queued })
    res.accepting = false
    const { attempt, controller, results } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    attempt.onResponseStart(controller, 200, { 'content-length': String(10 * 1024 * KIB) }, 'OK')
    queued = 320 * KIB
    attempt.onResponseData(controller, Buffer.alloc(64 * KIB))
    t.equal(controller.pauses, 1, 'paused')
    for (let period = 1; period <= 3; period++) {
      fx.clock.advance(CLIENT_IDLE - 1)
      queued -= 16 * KIB // the client took 16 KiB of it
      fx.clock.advance(1)
      t.equal(results.length, 0, `not cut after ${period} × clientIdleMs of slow reading`)
    }
    fx.clock.advance(CLIENT_IDLE)
    t.equal(results.length, 1, 'cut once it took nothing for clientIdleMs')
    t.ok(results[0]!.error instanceof AttemptAborted && results[0]!.error.reason === 'client_stalled')
  })
})

// A client that stops reading just as the upstream finishes its answer is still cut after timeouts.clientIdleMs:
// the upstream's end stops the attempt's stall timer, so the end of the answer still queued for the client's socket
// gets a watch of its own (cut, logged client_stalled) instead of holding the client's connection and the request
// open for good. A client that took it all in time is left alone. (src/proxy/attempt.ts, onResponseEnd:
// `if (res.writableLength > 0) this.#ex.watchUnsentTail(...)`.) The test plays undici and the client, on a manual clock.
t.test('proxy-attempt-unsent-tail-watched', async (t) => {
  const CLIENT_IDLE = 5000
  const pool = { timeouts: { requestMs: 30_000, clientIdleMs: CLIENT_IDLE } }

  t.test('the upstream ended, the tail waits for a client that reads no more: cut after clientIdleMs as client_stalled', async (t) => {
    const fx = runtimeFixture(t, pool)
    const { ex, res } = exchange(fx)
    const { attempt, controller, results } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    attempt.onResponseStart(controller, 200, { 'content-length': '5' })
    attempt.onResponseData(controller, Buffer.from('hello'))
    res.accepting = false // the client stops reading: what was written waits in its socket's queue
    attempt.onResponseEnd(controller, {})
    t.equal(results.length, 1, 'the attempt is over with the upstream\'s end')
    t.equal(results[0]!.responded, true)
    t.equal(res.ended, true)
    t.equal(controller.aborted, false, 'the upstream finished cleanly: nothing to abort')
    fx.clock.advance(CLIENT_IDLE - 1)
    t.equal(res.destroyed, false, 'not before clientIdleMs')
    t.equal(ex.cutShortBy, undefined)
    fx.clock.advance(1)
    t.equal(res.destroyed, true, 'the client\'s response is cut')
    t.equal(ex.cutShortBy, 'client_stalled', 'and the access log says why')
    t.equal(ex.errorCode, 'client_stalled')
  })

  t.test('the client took the whole answer: no watch, nothing cut', async (t) => {
    const fx = runtimeFixture(t, pool)
    const { ex, res } = exchange(fx)
    const { attempt, controller } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    attempt.onResponseStart(controller, 200, { 'content-length': '5' })
    attempt.onResponseData(controller, Buffer.from('hello'))
    attempt.onResponseEnd(controller, {})
    t.same(fx.clock.dueIn(), [], 'no timer left')
    fx.clock.advance(CLIENT_IDLE * 2)
    t.equal(res.destroyed, false)
    t.equal(ex.cutShortBy, undefined)
  })

  // Exchange.watchUnsentTail itself: a client still taking the tail is given another clientIdleMs each time, measured
  // from what was left at the last look, and is cut once it stops; a slow reader is not a stalled one, nor is a client
  // that stalls after some progress left holding its connection for good.
  t.test('a client still taking the tail gets another clientIdleMs each time, and is cut once it stops', async (t) => {
    const fx = runtimeFixture(t, pool)
    const { ex, res } = exchange(fx)
    let queued = 30_000
    Object.defineProperty(res, 'writableLength', { get: () => queued })
    ex.watchUnsentTail(fx.clock, CLIENT_IDLE)
    queued = 20_000 // the client read some
    fx.clock.advance(CLIENT_IDLE)
    t.equal(res.destroyed, false, 'progress in the first clientIdleMs: not cut')
    queued = 10_000 // and some more
    fx.clock.advance(CLIENT_IDLE)
    t.equal(res.destroyed, false, 'progress in the second: not cut either')
    // from here the client takes nothing
    fx.clock.advance(CLIENT_IDLE - 1)
    t.equal(res.destroyed, false, 'not before another clientIdleMs')
    fx.clock.advance(1)
    t.equal(res.destroyed, true, 'a client that stopped reading is cut')
    t.equal(ex.cutShortBy, 'client_stalled')
  })
})

// A streamed (unbuffered) upload is sent once (README, Retries: "a larger one streams from its first byte and is
// sent once"). The one exception is a connection undici could not make: undici fails the request itself, so it never
// starts and never reads the body, and the body may go whole to another target. An attempt that ended by the
// gateway's own timer while undici was still connecting for it (timeouts.clientIdleMs under connectMs: the target is
// slow to accept) is not that exception: undici still holds the request, and starts it (and aborts it, destroying its
// body) once that connection opens. So it is 504 upstream_timeout, a failure of the target, and not retried, even
// though PUT and 'timeout' are in the retry policy. (src/proxy/attempt.ts, #fail:
// `const unsent = kind === 'connect-failure' && ...`.) The test plays undici and the client, on a manual clock.
t.test('proxy-attempt-unsent-upload-timeout', async (t) => {
  const CLIENT_IDLE = 500
  const pool = { timeouts: { requestMs: 30_000, clientIdleMs: CLIENT_IDLE, connectMs: 5000 }, retry: { attempts: 3, perTryTimeoutMs: 2000 } }

  /** The client's body as the proxy streams it: bytes waiting that nobody has read yet (undici has not started). */
  function waitingUpload (): PassThrough {
    const body = new PassThrough()
    body.write(Buffer.alloc(1024, 1))
    return body
  }

  t.test('the timer runs out while undici is still connecting for a streamed PUT: a timeout, not retried', async (t) => {
    const fx = runtimeFixture(t, pool)
    const { ex } = exchange(fx, { method: 'PUT', body: waitingUpload(), replayable: false })
    const { controller, results } = startAttempt(fx, ex)
    // undici never calls onRequestStart: its connection to the target is still being made
    fx.clock.advance(CLIENT_IDLE)
    t.equal(results.length, 1, 'the attempt ended')
    t.equal(controller.aborted, false, 'undici had not started it')
    t.ok(results[0]!.error instanceof AttemptAborted && results[0]!.error.reason === 'attempt_timeout', 'ended by the gateway\'s timer')
    t.equal(results[0]!.busy, false, 'not a request queued behind busy connections: undici was connecting for it')
    t.equal(results[0]!.failure, 'timeout', 'a failure of the target (504 upstream_timeout)')
    t.equal(results[0]!.retryable, false, 'the upload is sent once: no other target gets it')
  })

  t.test('a refused connection for the same streamed PUT: undici took none of it, so it goes to another target', async (t) => {
    const fx = runtimeFixture(t, pool)
    const { ex } = exchange(fx, { method: 'PUT', body: waitingUpload(), replayable: false })
    const { attempt, results } = startAttempt(fx, ex)
    attempt.onResponseError(undefined as never, codedError('ECONNREFUSED'))
    t.equal(results.length, 1)
    t.equal(results[0]!.failure, 'connect-failure')
    t.equal(results[0]!.retryable, true, 'retried whole on another target')
  })
})

// A streamed upload with no byte sent upstream for clientIdleMs is blamed on whoever stopped it
// (src/proxy/attempt.ts, #uploadStalled). undici pauses the client's body while the upstream's connection takes no
// more: a body held paused means the upstream stopped reading, a timeout of its own (504 upstream_timeout, a failure
// of the target's), even when no byte of the client's waits in it yet. Only a body that flows with nothing in it is a
// client that stopped sending (408 request_timeout). The test plays undici and the client, on a manual clock.
t.test('proxy-attempt-upload-held', async (t) => {
  const CLIENT_IDLE = 5000
  const pool = { timeouts: { requestMs: 30_000, clientIdleMs: CLIENT_IDLE }, retry: { perTryTimeoutMs: 2000 } }

  function abortReason (err: Error | null): string | undefined {
    return err instanceof AttemptAborted ? err.reason : undefined
  }

  t.test('an upload undici holds paused, nothing buffered: the upstream stopped reading (attempt_timeout, a timeout)', async (t) => {
    const fx = runtimeFixture(t, pool)
    const body = new PassThrough()
    body.resume()
    body.pause() // what undici does while the upstream's socket takes no more; the client has sent nothing since
    t.equal(body.readableFlowing, false)
    t.equal(body.readableLength, 0)
    const { ex } = exchange(fx, { method: 'PUT', body, replayable: false })
    const { attempt, controller, results } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    fx.clock.advance(CLIENT_IDLE)
    t.equal(abortReason(controller.reason), 'attempt_timeout', 'the upstream\'s timeout, not upload_stalled')
    t.equal(results.length, 1)
    t.equal(results[0]!.failure, 'timeout', 'a failure of the target (504 upstream_timeout)')
    t.not(ex.errorCode, 'request_timeout', 'not answered as the client\'s 408')
  })

  t.test('an upload flowing with nothing in it: the client stopped sending (upload_stalled, 408)', async (t) => {
    const fx = runtimeFixture(t, pool)
    const body = new PassThrough()
    body.resume()
    const { ex } = exchange(fx, { method: 'PUT', body, replayable: false })
    const { attempt, controller, results } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    fx.clock.advance(CLIENT_IDLE)
    t.equal(abortReason(controller.reason), 'upload_stalled')
    t.equal(ex.errorCode, 'request_timeout')
    t.equal(results[0]?.failure, undefined, 'no failure of the target')
  })
})

// One attempt as an undici dispatch handler, driven directly: the test plays undici (a fake controller) and the
// client (a fake response), on a manual clock, against a real PoolRuntime whose targets nobody connects to.
t.test('proxy-attempt', async (t) => {
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
    // afterHeaders: the head and a first body byte went to the client; headHeld: the head arrived, no body byte yet
    // (held, so nothing went out: not answered, the error answer follows, never a retry)
    const cases: { name: string; code: string; method?: string; afterHeaders?: boolean; headHeld?: boolean; failure: string | undefined; retryable: boolean; errorCode?: string }[] = [
      { name: 'refused on a GET', code: 'ECONNREFUSED', failure: 'connect-failure', retryable: true },
      { name: 'refused on a POST: it never left', code: 'ECONNREFUSED', method: 'POST', failure: 'connect-failure', retryable: true },
      { name: 'reset on a GET', code: 'ECONNRESET', failure: 'reset', retryable: true },
      { name: 'reset on a POST', code: 'ECONNRESET', method: 'POST', failure: 'reset', retryable: false },
      { name: 'an invalid response', code: 'HPE_INVALID_CONSTANT', failure: 'bad-response', retryable: false },
      { name: 'a request undici cannot send: the client is at fault', code: 'UND_ERR_INVALID_ARG', failure: undefined, retryable: false, errorCode: 'bad_request' },
      { name: 'reset mid-body', code: 'ECONNRESET', afterHeaders: true, failure: 'reset', retryable: false, errorCode: 'upstream_unreachable' },
      { name: 'silent mid-body past idleMs', code: 'UND_ERR_BODY_TIMEOUT', afterHeaders: true, failure: 'timeout', retryable: false, errorCode: 'upstream_timeout' },
      { name: 'a bad chunk size mid-body: the upstream\'s bytes, not the connection', code: 'HPE_INVALID_CHUNK_SIZE', afterHeaders: true, failure: 'bad-response', retryable: false, errorCode: 'upstream_bad_response' },
      { name: 'reset before the first body byte, on a GET: not retried', code: 'ECONNRESET', headHeld: true, failure: 'reset', retryable: false },
      { name: 'a bad first chunk size', code: 'HPE_INVALID_CHUNK_SIZE', headHeld: true, failure: 'bad-response', retryable: false },
    ]
    for (const c of cases) {
      const fx = runtimeFixture(t, pool)
      const { ex, res } = exchange(fx, c.method === undefined ? {} : { method: c.method })
      const target = fx.targets[0]!
      const { attempt, controller, results } = startAttempt(fx, ex, target)
      attempt.onRequestStart(controller)
      if (c.afterHeaders === true || c.headHeld === true) attempt.onResponseStart(controller, 200, {})
      if (c.afterHeaders === true) attempt.onResponseData(controller, Buffer.from('x'))
      t.equal(res.headersSent, c.afterHeaders === true, `${c.name}: the head goes out with the first body byte`)
      const err = codedError(c.code)
      attempt.onResponseError(controller, err)
      t.equal(results.length, 1)
      t.same(outcome(results[0]), { responded: c.afterHeaders === true, failure: c.failure, retryable: c.retryable, slotTaken: false }, c.name)
      t.equal(results[0]!.error, err)
      t.equal(ex.errorCode, c.errorCode, `${c.name}: error code`)
      t.equal(ex.cutShortBy, c.afterHeaders ? c.errorCode : undefined, `${c.name}: cut short only once headers are out`)
      t.equal(res.destroyed, c.afterHeaders === true)
      if (c.headHeld === true) t.equal(res.headersSent, false, `${c.name}: nothing went out; the error answer can`)
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
    t.equal(read.buffer.detached, true, 'freed after its last write, undici on its next read')
    // undici may still hold views of the tail of the read it parses (a trailer field cut by its end, joined to the
    // next read's start): kept until undici moves on to another read
    t.equal(second.buffer.detached, false, 'the read undici parses now is kept')
    attempt.onResponseData(controller, Buffer.alloc(100, 'c'))
    t.equal(second.buffer.detached, true, 'freed once undici moved on')
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
})

// A large chunk's write to the client that failed (the client's socket errored) frees nothing, even when undici has
// already moved on to its next read: a failed write is no proof the socket is done with the chunk's memory, and the
// buffer is left to the garbage collector. Only completed writes hand a read buffer back at once.
t.test('proxy-attempt-failed-write-frees-nothing', async (t) => {
  t.test('a read undici has moved on from is not freed when its write failed', async (t) => {
    const fx = runtimeFixture(t, { timeouts: { requestMs: 30_000 } })
    const { ex, res } = exchange(fx)
    const { attempt, controller } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    attempt.onResponseStart(controller, 200, {})
    const first = Buffer.alloc(32 * 1024, 'a')
    attempt.onResponseData(controller, first)
    const next = Buffer.alloc(32 * 1024, 'b')
    attempt.onResponseData(controller, next)
    res.completeWrites(new Error('socket closed'))
    t.equal(first.buffer.detached, false, 'the failed write of a former read frees nothing')
    t.equal(next.buffer.detached, false, 'nor that of the read undici parses now')
  })
})

// Paused for a slow client, the stall watch measures what the client took, not how its queue changed: undici may hand
// over more of the read it was paused on (it is written to the client's queue too), so a client that took 16 KiB in a
// clientIdleMs while 32 KiB more were queued has a longer queue yet is reading, and is not cut client_stalled. One
// that then takes nothing for clientIdleMs is cut.
t.test('proxy-attempt-stall-progress-with-more-queued', async (t) => {
  t.test('paused: a client taking some while more of the paused read is queued is not cut', async (t) => {
    const CLIENT_IDLE = 5000
    const KIB = 1024
    const fx = runtimeFixture(t, { timeouts: { requestMs: 30_000, clientIdleMs: CLIENT_IDLE } })
    const { ex, res } = exchange(fx)
    let queued = 0
    Object.defineProperty(res, 'writableLength', { get: () => queued })
    res.accepting = false
    const { attempt, controller, results } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    attempt.onResponseStart(controller, 200, { 'content-length': String(10 * 1024 * KIB) }, 'OK')
    queued = 320 * KIB
    attempt.onResponseData(controller, Buffer.alloc(64 * KIB))
    t.equal(controller.pauses, 1, 'paused')
    fx.clock.advance(CLIENT_IDLE - 1)
    // the rest of the read undici was paused on: queued behind the rest, while the client took 16 KiB
    queued += 32 * KIB
    attempt.onResponseData(controller, Buffer.alloc(32 * KIB))
    queued -= 16 * KIB
    fx.clock.advance(1)
    t.equal(results.length, 0, 'not cut: it took 16 KiB')
    fx.clock.advance(CLIENT_IDLE)
    t.equal(results.length, 1, 'cut once it took nothing for clientIdleMs')
    t.ok(results[0]!.error instanceof AttemptAborted && results[0]!.error.reason === 'client_stalled')
  })
})
