// A streamed (unbuffered) upload is sent once (README, Retries: "a larger one streams from its first byte and is
// sent once"). The one exception is a connection undici could not make: undici fails the request itself, so it never
// starts and never reads the body, and the body may go whole to another target. An attempt that ended by the
// gateway's own timer while undici was still connecting for it (timeouts.clientIdleMs under connectMs: the target is
// slow to accept) is not that exception: undici still holds the request, and starts it (and aborts it, destroying its
// body) once that connection opens. So it is 504 upstream_timeout, a failure of the target, and not retried, even
// though PUT and 'timeout' are in the retry policy. (src/proxy/attempt.ts, #fail:
// `const unsent = kind === 'connect-failure' && ...`.) The test plays undici and the client, on a manual clock.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { AttemptAborted } from '../../src/errors.ts'
import { codedError, exchange, runtimeFixture, startAttempt } from './proxy-fakes.ts'

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
