// A client the gateway has just cut (over 64 KiB sent before its 101) is a client that left, even when requestMs
// runs out in the same turn, before the socket's 'close' has been heard: one 499 line marked earlyBytesOverLimit, and
// no failure of the target whose connection was still being opened. Counting it as the target's timeout would let
// one flooding client eject a target and open the breaker.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { HANDSHAKE } from './queued-handshake.ts'
import { gateway } from './setup.ts'
import { blackhole } from './blackhole.ts'

t.test('cut for flooding as the deadline falls due, its connection being opened: 499, no failure of the target', async (t) => {
  const url = await blackhole(t)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { p: { targets: [url], connections: { maxPerTarget: 1 }, retry: { attempts: 1 }, timeouts: { requestMs: 300, connectMs: 5_000 }, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  client.socket.write(HANDSHAKE)
  await waitFor(() => target.queued === 1)
  t.equal(target.client.queued, 0, 'not waiting in the queue: its connection is being opened')
  // in one turn: the flood reaches the gateway's socket (read before the deadline's verdict runs, on the next turn's
  // check phase) and the deadline falls due
  client.socket.write(Buffer.alloc(64 * 1024 + 1, 'x'))
  clock.advance(300)
  await client.closed
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  const lines = gw.accessLogs().filter((l) => l.upgrade === true)
  t.equal(lines.length, 1)
  t.match(lines[0], { status: 499, aborted: true, earlyBytesOverLimit: true })
  t.equal(lines[0]!.error, undefined, 'not upstream_timeout')
  t.equal(target.failures, 0, 'no failure of the target')
})
