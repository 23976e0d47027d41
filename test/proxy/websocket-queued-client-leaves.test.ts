// A WebSocket handshake waiting for a connection of a saturated target is watched while it waits: a client that
// resets or half-closes leaves the target's queue at once (one 499 line, nothing sent upstream), as a plain request
// does, instead of holding its place until a connection comes free. Bytes a client sends behind its handshake are
// kept and reach the target first through the tunnel.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { HANDSHAKE, saturatedTarget as saturated, sendHandshake } from './queued-handshake.ts'
import { gateway } from './setup.ts'
import { blackhole } from './blackhole.ts'

const leaving: [string, (socket: ReturnType<typeof rawConnection>['socket']) => void][] = [
  ['resets', (socket) => socket.resetAndDestroy()],
  ['half-closes', (socket) => socket.end()],
]

for (const [how, leave] of leaving) {
  t.test(`a queued handshake whose client ${how} leaves the queue at once and never reaches the upstream`, async (t) => {
    // the manual clock is never moved: only the client's leaving can take the handshake out of the queue
    const { gw, target, holder, client, seen } = await saturated(t)
    client.socket.write(HANDSHAKE)
    await waitFor(() => target.queued === 1)
    leave(client.socket)
    await waitFor(() => target.queued === 0)
    t.equal(target.client.queued, 0, 'out of the connection queue')
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    const line = gw.accessLogs().find((l) => l.upgrade === true)!
    t.equal(line.status, 499)
    t.equal(line.aborted, true)
    t.equal(gw.accessLogs().filter((l) => l.upgrade === true).length, 1, 'one line')

    holder.release()
    await waitFor(() => target.inFlight === 0)
    t.equal(seen(), 1, 'the handshake never reached the upstream')
    t.equal(target.failures, 0, 'nor counted against it')
  })
}

t.test('bytes sent behind a queued handshake reach the target first, through the tunnel', async (t) => {
  const { target, holder, client } = await saturated(t)
  client.socket.write(HANDSHAKE + 'early-')
  await waitFor(() => target.queued === 1)
  client.socket.write('bytes')
  // read by the gateway while queued (not left in the kernel): still queued, the client still there
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(target.queued, 1)
  holder.release()
  await waitFor(() => client.received().includes('early-bytes'))
  const [head, echoed] = client.received().split('\r\n\r\n')
  t.match(head, /^HTTP\/1\.1 101 /)
  t.equal(echoed, 'early-bytes', 'the upstream echoed them, in order, before anything else')
  client.socket.write('|later')
  await waitFor(() => client.received().endsWith('|later'))
  t.pass('the tunnel carries what follows')
})

t.test('a client that floods bytes behind its queued handshake is cut at 64 KiB and logged so', async (t) => {
  const { gw, target, holder, client, seen } = await saturated(t)
  client.socket.on('error', () => {}) // reset by the gateway's cut
  client.socket.write(HANDSHAKE)
  await waitFor(() => target.queued === 1)
  client.socket.write(Buffer.alloc(64 * 1024 + 1, 'x'))
  await waitFor(() => target.queued === 0)
  await client.closed
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  const line = gw.accessLogs().find((l) => l.upgrade === true)!
  t.equal(line.status, 499)
  t.equal(line.earlyBytesOverLimit, true)
  holder.release()
  await waitFor(() => target.inFlight === 0)
  t.equal(seen(), 1, 'the handshake never reached the upstream')
})

t.test('a client that leaves while its connection is still being opened is 499, not 503, at requestMs', async (t) => {
  const url = await blackhole(t)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { p: { targets: [url], connections: { maxPerTarget: 1 }, retry: { attempts: 1 }, timeouts: { requestMs: 300, connectMs: 1_500 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => target.queued === 1)
  t.equal(target.client.queued, 0, 'not waiting in the queue: its connection is being opened')
  client.socket.resetAndDestroy()
  await new Promise((resolve) => setTimeout(resolve, 50)) // the gateway sees the reset
  clock.advance(300)
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  const lines = gw.accessLogs().filter((l) => l.upgrade === true)
  t.equal(lines.length, 1)
  t.equal(lines[0]!.status, 499)
  t.equal(lines[0]!.aborted, true)
  t.equal(lines[0]!.error, undefined, 'not upstream_busy: the target was not the one at fault')
})
