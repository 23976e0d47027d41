// A client may send up to 64 KiB (MAX_EARLY_BYTES) behind its handshake before the 101 without being taken for a
// flooder: one that sends exactly that much and then leaves is logged as a client that left (499, aborted), not
// marked earlyBytesOverLimit, which is kept for the clients the gateway cut for sending more. An operator counting
// those marks to find abusive clients must not find well-behaved ones among them.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { HANDSHAKE, saturatedTarget } from './queued-handshake.ts'

t.test('exactly 64 KiB behind a queued handshake, then a half-close: 499 without earlyBytesOverLimit', async (t) => {
  const { gw, target, holder, client, seen } = await saturatedTarget(t)
  client.socket.on('error', () => {})
  client.socket.write(HANDSHAKE)
  await waitFor(() => target.queued === 1)
  // the FIN follows the bytes: the gateway has read all of them when it sees the half-close
  client.socket.end(Buffer.alloc(64 * 1024, 'x'))
  await client.closed
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  const line = gw.accessLogs().find((l) => l.upgrade === true)!
  t.equal(line.status, 499)
  t.equal(line.aborted, true)
  t.equal(line.earlyBytesOverLimit, undefined, 'within the limit')
  t.equal(line.bytesIn, 64 * 1024, 'every byte was read')
  holder.release()
  await waitFor(() => target.inFlight === 0)
  t.equal(seen(), 1, 'the handshake never reached the upstream')
})
