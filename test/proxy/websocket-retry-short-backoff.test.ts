// A connect failure's retry waits out its backoff on the gateway's clock however short it is (here 1 ms): only a
// backoff of 0 sends the retry at once. The backoff spaces the attempts a pool's policy allows; the retry is sent
// when its timer fires, never from inside undici's callback for the failed attempt.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawRequest } from './raw.ts'
import { deadPrimary } from './dead-primary.ts'
import { wsHandshake } from './ws-tunnel.ts'

t.test('a 1 ms backoff: the retry waits for the clock, then goes out', async (t) => {
  const clock = new ManualClock()
  // the first retry's backoff: floor(0.5 * 2) = 1 ms
  const { gw, live, deadTarget, liveTarget } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 2, maxMs: 2 } }, { clock, random: () => 0.5 })
  const answer = rawRequest(portOf(gw.url), wsHandshake('/ws', 'short-backoff'))
  await waitFor(() => deadTarget.failures === 1)
  await new Promise((resolve) => setImmediate(resolve)) // a retry sent at once would be out by now
  t.ok(clock.dueIn().includes(1), 'the retry waits out its 1 ms backoff')
  t.equal(liveTarget.inFlight, 0, 'nothing sent before the clock moves')
  clock.advance(1)
  const res = await answer
  t.equal(res.status, 101)
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 101, attempts: 2, target: live.url })
})
