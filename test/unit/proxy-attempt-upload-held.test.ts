// A streamed upload with no byte sent upstream for clientIdleMs is blamed on whoever stopped it
// (src/proxy/attempt.ts, #uploadStalled). undici pauses the client's body while the upstream's connection takes no
// more: a body held paused means the upstream stopped reading, a timeout of its own (504 upstream_timeout, a failure
// of the target's), even when no byte of the client's waits in it yet. Only a body that flows with nothing in it is a
// client that stopped sending (408 request_timeout). The test plays undici and the client, on a manual clock.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { AttemptAborted } from '../../src/errors.ts'
import { exchange, runtimeFixture, startAttempt } from './proxy-fakes.ts'

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
