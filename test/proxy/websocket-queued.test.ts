// A WebSocket handshake that waits for a connection of a saturated target (all maxPerTarget busy) is answered
// 503 upstream_busy at the pool's requestMs, as a plain request is, instead of waiting as long as the
// connections stay busy; it leaves the target's queue then, so it never reaches the upstream.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { HANDSHAKE, saturatedTarget as saturated } from './queued-handshake.ts'

t.test('a handshake queued for a connection past requestMs is 503 upstream_busy and never reaches the upstream', async (t) => {
  const { gw, clock, target, holder, client, seen } = await saturated(t)
  client.socket.write(HANDSHAKE)
  await waitFor(() => target.queued === 1)
  clock.advance(499)
  t.equal(client.received(), '', 'nothing before requestMs')
  clock.advance(1)
  await client.closed
  t.match(client.received(), /^HTTP\/1\.1 503 /)
  t.match(client.received(), /"error":"upstream_busy"/)
  t.equal(gw.accessLogs().at(-1)?.error, 'upstream_busy')
  t.equal(target.queued, 0, 'out of the queue at its deadline')
  t.equal(target.client.queued, 0)

  holder.release()
  await waitFor(() => target.queued === 0 && target.inFlight === 0)
  t.equal(seen(), 1, 'the handshake never reached the upstream')
  t.equal(target.failures, 0, 'nor counted against it')
})
