// A client that leaves while its handshake waits out a connect failure's backoff cancels the retry: its timer is
// cleared and no target is sent the handshake when the backoff would have ended (one 499 line). Without it the gateway
// would open a WebSocket session on the next target for a client already gone, holding a connection and a target slot.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { deadPrimary } from './dead-primary.ts'

t.test('the client resets during the backoff: the retry\'s timer is cleared, nothing dispatched when it was due', async (t) => {
  const clock = new ManualClock()
  // with random 0.5, the first retry waits 500 ms on the manual clock
  const { gw, live, deadTarget, liveTarget } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 1000, maxMs: 1000 } }, { clock, random: () => 0.5 })
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => deadTarget.failures === 1)
  t.ok(clock.dueIn().includes(500), 'the retry waits out its backoff')
  client.socket.resetAndDestroy()
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 499, aborted: true, attempts: 1 })
  t.notOk(clock.dueIn().includes(500), 'the retry\'s timer was cleared')
  clock.advance(1000)
  t.equal(liveTarget.inFlight, 0, 'no retry dispatched when the backoff would have ended')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(live.requests.length, 0, 'the live target never got it')
  t.equal(gw.accessLogs().filter((l) => l.upgrade === true).length, 1, 'one line')
})
