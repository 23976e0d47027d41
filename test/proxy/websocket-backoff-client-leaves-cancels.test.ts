// A client that leaves while its handshake waits out a connect failure's backoff cancels the retry: its timer is
// cleared and no target is sent the handshake when the backoff would have ended (one 499 line). Without it the gateway
// would open a WebSocket session on the next target for a client already gone, holding a connection and a target slot.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { portOf } from './raw.ts'
import { HANDSHAKE } from './queued-handshake.ts'
import { gateway, refusedUrl, upstream } from './setup.ts'

t.test('the client resets during the backoff: the retry\'s timer is cleared, nothing dispatched when it was due', async (t) => {
  const clock = new ManualClock()
  const dead = await refusedUrl(t)
  const live = await upstream(t, 'live')
  const gw = await gateway(t, {
    // with random 0.5, the first retry waits 500 ms on the manual clock
    pools: { p: { targets: [dead, { url: live.url, backup: true }], retry: { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 1000, maxMs: 1000 } }, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, random: () => 0.5, defaultMetrics: false })
  const targets = gw.gateway.pools().get('p')!.pool.targets
  const deadTarget = targets.find((x) => x.url === dead)!
  const liveTarget = targets.find((x) => x.url === live.url)!
  const client = rawConnection(t, portOf(gw.url))
  await client.connected
  client.socket.write(HANDSHAKE)
  await waitFor(() => deadTarget.failures === 1)
  t.ok(clock.dueIn().includes(500), 'the retry waits out its backoff')
  client.socket.resetAndDestroy()
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 499, aborted: true, attempts: 1 })
  t.notOk(clock.dueIn().includes(500), 'the retry\'s timer was cleared')
  clock.advance(1000)
  t.equal(liveTarget.inFlight, 0, 'no retry dispatched when the backoff would have ended')
  t.equal(gw.accessLogs().filter((l) => l.upgrade === true).length, 1, 'one line')
})
