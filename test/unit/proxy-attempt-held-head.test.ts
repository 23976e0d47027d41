// An answer's head held for its first body byte (src/proxy/attempt.ts, src/proxy/held-heads.ts), seen from the
// Attempt on an injected clock. README (upstream_unreachable): "a head waits 50-100 ms for its first body bytes,
// then goes on alone" — not before 50 ms (a first read that fails just after the head is still answered 502), out
// and flushed by 100 ms (an SSE or long-poll client sees its answer begin). An answer that fails while its head is
// held leaves no timer behind, and each clock's held heads go out on that clock's timer. A head's wait starts when the
// turn of the event loop it came in ends (its body most often comes in the same read): the tests let that turn end. Pins the mutants AW2, AW27
// (HEAD_WAITS_MS changed), AW13 (no release in #fail) and AW9 (one HeldHeads for every clock) of review r42i.
import t from 'tap'
import { HEAD_WAITS_MS } from '../../src/proxy/held-heads.ts'
import { exchange, type FakeResponse, runtimeFixture, startAttempt } from './proxy-fakes.ts'

/** The end of this turn of the event loop, when a head still held starts waiting on its clock's timer. */
const turnEnds = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** The fake client response, with the flushHeaders() the held head's timer calls, counted. */
function flushable (res: FakeResponse): { flushes: number } {
  const seen = { flushes: 0 }
  Object.assign(res, { flushHeaders: () => { seen.flushes++ } })
  return seen
}

t.test('a held head waits at least 50 ms for its first body byte, and goes out alone, flushed, by 100 ms', async (t) => {
  const fx = runtimeFixture(t)
  const { ex, res } = exchange(fx)
  const seen = flushable(res)
  const { attempt, controller, results } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 200, { 'content-type': 'text/event-stream', 'transfer-encoding': 'chunked' }, 'OK')
  t.equal(res.headersSent, false, 'held for its first body byte')
  await turnEnds()
  fx.clock.advance(49)
  t.equal(res.headersSent, false, 'still held at 49 ms: a read that fails now is answered 502')
  t.equal(seen.flushes, 0)
  fx.clock.advance(51)
  t.equal(res.headersSent, true, 'out by 100 ms without a body byte')
  t.equal(res.statusCode, 200)
  t.equal(seen.flushes, 1, 'flushed: Node would keep a head written alone until the first body write')
  t.same(results, [], 'the attempt goes on: the body is still to come')
  t.same(fx.clock.dueIn(), [], 'nothing held: no timer left')
  attempt.onResponseData(controller, Buffer.from('data: 1\n\n'))
  attempt.onResponseEnd(controller, {})
  t.equal(res.body, 'data: 1\n\n')
  t.equal(results.length, 1)
})

t.test('an answer that fails while its head is held leaves no held-head timer', async (t) => {
  const fx = runtimeFixture(t)
  const { ex, res } = exchange(fx)
  flushable(res)
  const { attempt, controller, results } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  attempt.onResponseStart(controller, 200, { 'content-length': '5' }, 'OK')
  await turnEnds()
  t.equal(fx.clock.pendingTimers, 1, 'the held head\'s timer')
  attempt.onResponseError(controller, Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' }))
  t.equal(results.length, 1)
  t.equal(results[0]!.responded, false, 'the head never went: the client gets the error answer')
  t.same(fx.clock.dueIn(), [], 'nothing held: no timer left')
  t.equal(res.headersSent, false)
})

t.test("each clock's held heads go out on that clock's timer", async (t) => {
  const heads = [runtimeFixture(t), runtimeFixture(t)].map((fx) => {
    const { ex, res } = exchange(fx)
    flushable(res)
    const { attempt, controller } = startAttempt(fx, ex)
    attempt.onRequestStart(controller)
    attempt.onResponseStart(controller, 200, { 'content-length': '5' }, 'OK')
    return { fx, res }
  })
  const [first, second] = heads as [typeof heads[0], typeof heads[0]]
  await turnEnds()
  second.fx.clock.advance(100)
  t.equal(second.res.headersSent, true, "the second clock's 100 ms sent its head")
  t.equal(first.res.headersSent, false, 'the first, whose clock has not moved, still holds its own')
  first.fx.clock.advance(100)
  t.equal(first.res.headersSent, true)
})

t.test('a head whose first body bytes come in the same turn arms no timer at all', async (t) => {
  const fx = runtimeFixture(t)
  const { ex, res } = exchange(fx)
  flushable(res)
  const { attempt, controller } = startAttempt(fx, ex)
  attempt.onRequestStart(controller)
  // the timers armed from here on, by their length
  const armed: number[] = []
  const setTimeout = fx.clock.setTimeout.bind(fx.clock)
  fx.clock.setTimeout = (callback, ms) => { armed.push(ms); return setTimeout(callback, ms) }
  attempt.onResponseStart(controller, 200, { 'content-length': '2' }, 'OK')
  attempt.onResponseData(controller, Buffer.from('ok'))
  await turnEnds()
  t.notOk(armed.includes(HEAD_WAITS_MS), 'no held-head timer armed (one armed and cleared per request cost ~10,000 instructions: bench/instructions.ts)')
  t.equal(res.headersSent, true)
})
