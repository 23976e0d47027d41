// A WebSocket handshake whose connection is still being opened when timeouts.requestMs runs out is the target's
// timeout: 504 upstream_timeout and a failure of the target (it is slow to accept), as for a request
// (src/proxy/attempt.ts). Only a handshake still queued behind busy connections is 503 upstream_busy, no fault of the
// target's. Mixing the two would hide a target that stopped accepting connections behind "busy" answers.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { HANDSHAKE } from './queued-handshake.ts'
import { gateway } from './setup.ts'
import { blackhole } from './blackhole.ts'

t.test('requestMs runs out while the connection is being opened: 504 upstream_timeout, the target\'s failure', async (t) => {
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
  clock.advance(300)
  await client.closed
  t.match(client.received(), /^HTTP\/1\.1 504 /)
  t.match(client.received(), /"error":"upstream_timeout"/)
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 504, error: 'upstream_timeout', attempts: 1 })
  t.equal(target.failures, 1, 'the target\'s failure')
})
