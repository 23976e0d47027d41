// A connect failure's retry is taken only if its backoff ends before the handshake's deadline (timeouts.requestMs),
// as a request's is (src/proxy/attempt.ts #mayRetryAfter): a backoff that ends exactly at the deadline leaves no time
// for the retry, so the handshake is refused 502 upstream_unreachable at once rather than held for the whole
// deadline only to be refused then.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { deadPrimary } from './dead-primary.ts'

t.test('a backoff ending exactly at the deadline: no retry, 502 at once', async (t) => {
  const clock = new ManualClock() // never moved: the deadline and the backoff are both 1000 ms away
  // first retry's backoff: floor(0.5 * 2000) = 1000 ms, the whole of requestMs
  const { gw, live } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 2000, maxMs: 2000 } },
    { clock, random: () => 0.5 }, { timeouts: { requestMs: 1000 } })
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => client.isClosed(), 3000)
  t.match(client.received(), /^HTTP\/1\.1 502 /)
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 502, error: 'upstream_unreachable', attempts: 1 })
  t.equal(live.requests.length, 0, 'no retry went out')
})
