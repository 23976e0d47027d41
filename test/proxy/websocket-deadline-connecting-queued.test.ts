// A WebSocket handshake timed out (504) while its connection was still being opened stays counted in the target's
// queue until that connection takes it and it is aborted, as connections.maxQueuedPerTarget says: the connection
// attempt is still out, and a target that stopped accepting must not be sent one new connection per handshake. With
// the queue full, the next handshake is 503 upstream_busy at once.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway } from './setup.ts'
import { blackhole } from './blackhole.ts'

t.test('timed out while its connection opens: still counted in the queue, the next handshake 503 upstream_busy', async (t) => {
  const url = await blackhole(t)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { p: { targets: [url], connections: { maxQueuedPerTarget: 1 }, retry: { attempts: 1 }, timeouts: { requestMs: 300, connectMs: 10_000 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const first = await sendHandshake(t, gw.url)
  await waitFor(() => target.queued === 1)
  clock.advance(300)
  await first.closed
  t.match(first.received(), /^HTTP\/1\.1 504 /)
  t.equal(target.queued, 1, 'still counted: its connection is still being opened')
  const second = await sendHandshake(t, gw.url)
  await waitFor(() => second.isClosed(), 3000)
  t.match(second.received(), /^HTTP\/1\.1 503 /)
  t.match(second.received(), /"error":"upstream_busy"/)
})
