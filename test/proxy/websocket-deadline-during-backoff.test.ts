// A handshake whose deadline (timeouts.requestMs) falls due while it waits out a connect failure's backoff is refused
// then, 502 upstream_unreachable, the pool's failure: the retry is cancelled, never sent after the deadline. Node
// counts a timer from the loop's cached time, which a busy loop leaves behind the monotonic clock the retry check
// reads: a backoff judged to end before the deadline can still fall due after the deadline's timer. Without this, the
// retry goes out with no deadline left to bound it, and the client waits on whatever the next target does.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { portOf } from './raw.ts'
import { HANDSHAKE } from './queued-handshake.ts'
import { deadPrimary } from './dead-primary.ts'

/** A manual clock whose next monotonic reading is `lag` ms ahead of the time its timers count from (a stale loop time). */
class StaleLoopClock extends ManualClock {
  lag = 0
  monotonicNow (): number {
    const at = this.now() + this.lag
    this.lag = 0
    return at
  }
}

t.test('the deadline reached during the backoff: 502 upstream_unreachable, no retry sent, a breaker failure', async (t) => {
  const clock = new StaleLoopClock()
  // first retry's backoff: floor(0.5 * 2400) = 1200 ms
  const { gw, live, deadTarget, liveTarget } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 2400, maxMs: 2400 } },
    { clock, random: () => 0.5 }, { timeouts: { requestMs: 1000 }, circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50 } })
  const client = rawConnection(t, portOf(gw.url))
  await client.connected
  // the handshake's deadline is read 300 ms ahead of its timer: 1300 ms on the monotonic clock, the timer at 1000
  clock.lag = 300
  client.socket.write(HANDSHAKE)
  await waitFor(() => deadTarget.failures === 1)
  t.same(clock.dueIn(), [1000, 1200], 'the deadline\'s timer first, then the backoff judged to end before the deadline')
  clock.advance(1000)
  await waitFor(() => client.isClosed(), 3000)
  t.match(client.received(), /^HTTP\/1\.1 502 /)
  t.match(client.received(), /"error":"upstream_unreachable"/)
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 502, error: 'upstream_unreachable', attempts: 1 })
  clock.advance(1000) // past the backoff's end: a retry still armed would be dispatched now
  t.equal(liveTarget.inFlight, 0, 'the retry was never sent')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(live.requests.length, 0, 'the live target never got it')
  t.equal(gw.gateway.status().pools.p!.circuit, 'open', 'the breaker counted the failure')
})
