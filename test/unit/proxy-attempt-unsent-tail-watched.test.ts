// A client that stops reading just as the upstream finishes its answer is still cut after timeouts.clientIdleMs:
// the upstream's end stops the attempt's stall timer, so the end of the answer still queued for the client's socket
// gets a watch of its own (cut, logged client_stalled) instead of holding the client's connection and the request
// open for good. A client that took it all in time is left alone. (src/proxy/attempt.ts, onResponseEnd:
// `if (res.writableLength > 0) this.#ex.watchUnsentTail(...)`.) The test plays undici and the client, on a manual clock.
import t from 'tap'
import { exchange, runtimeFixture, startAttempt } from './proxy-fakes.ts'

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
