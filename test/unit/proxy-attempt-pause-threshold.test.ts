// The upstream is paused only once more than PAUSE_BYTES (256 KiB) wait in the client's socket queue, not each time
// write() says "full": a 64 KiB read is as large as the socket's high-water mark, so write() says so for nearly every
// chunk of a large body, and a client that keeps up must not cost a pause, a stall timer and a resume per chunk.
// Past the threshold the upstream is paused and the stall watch (clientIdleMs) armed. (src/proxy/attempt.ts,
// onResponseData: `!written && res.writableLength > PAUSE_BYTES`.) The test plays undici and the client.
import t from 'tap'
import { exchange, runtimeFixture, startAttempt, type FakeResponse } from './proxy-fakes.ts'

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
