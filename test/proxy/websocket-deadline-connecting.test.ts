// A WebSocket handshake whose connection is still being opened when timeouts.requestMs runs out is the target's
// timeout: 504 upstream_timeout and a failure of the target (it is slow to accept), as for a request
// (src/proxy/attempt.ts). Only a handshake still queued behind busy connections is 503 upstream_busy, no fault of the
// target's. Mixing the two would hide a target that stopped accepting connections behind "busy" answers.
// A client the gateway has just cut (over 64 KiB sent before its 101) is a client that left, though, even when
// requestMs runs out in the same turn, before the socket's 'close' has been heard: one 499 line marked
// earlyBytesOverLimit, and no failure of the target. Counting it as the target's timeout would let one flooding
// client eject a target and open the breaker.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway, type Tap } from './setup.ts'
import { blackhole } from './blackhole.ts'

/** A handshake sent to a target that never accepts: its connection is being opened, the deadline not yet due. */
async function handshakeConnecting (t: Tap) {
  const url = await blackhole(t)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { p: { targets: [url], connections: { maxPerTarget: 1 }, retry: { attempts: 1 }, timeouts: { requestMs: 300, connectMs: 5_000 }, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => target.queued === 1)
  t.equal(target.client.queued, 0, 'not waiting in the queue: its connection is being opened')
  return { gw, clock, target, client }
}

t.test('requestMs runs out while the connection is being opened: 504 upstream_timeout, the target\'s failure', async (t) => {
  const { gw, clock, target, client } = await handshakeConnecting(t)
  clock.advance(300)
  await client.closed
  t.match(client.received(), /^HTTP\/1\.1 504 /)
  t.match(client.received(), /"error":"upstream_timeout"/)
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 504, error: 'upstream_timeout', attempts: 1 })
  t.equal(target.failures, 1, 'the target\'s failure')
})

t.test('cut for flooding as the deadline falls due, its connection being opened: 499, no failure of the target', async (t) => {
  const { gw, clock, target, client } = await handshakeConnecting(t)
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
