// A declined WebSocket upgrade whose answer the upstream cuts short, by a reset or by a body its parser refuses: the
// declined answer's body runs to the close (its chunking stripped), so a FIN would end it as if it were whole. The
// client's connection is reset instead, whatever cut the answer, so the cut shows (RFC 9112 §8), as an HTTP/1.0
// client's cut answer is. It ended with a clean FIN (review r42f); the reset is for every failure kind, not a reset
// only (mutant AW26, review r42i).
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { ScriptedUpstream } from '../reliability/scripted-upstream.ts'

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
const DECLINED = 'HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnope!\r\n'

/** Sends the handshake through a gateway to an upstream that declines it and then `cut`s its answer. */
async function declinedThenCut (t: Test, cut: (socket: Socket) => void, error: string): Promise<void> {
  const u = await ScriptedUpstream.start((socket) => { socket.write(DECLINED, () => setTimeout(() => cut(socket), 50)) })
  const gw = await startGateway({ pools: { p: { targets: [u.url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })

  const client = connect(Number(new URL(gw.url).port), '127.0.0.1')
  t.teardown(() => client.destroy())
  let received = ''
  client.setEncoding('latin1')
  client.on('data', (chunk: string) => { received += chunk })
  const ended = new Promise<string>((resolve) => {
    client.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    client.on('end', () => resolve('FIN'))
  })
  client.write(HANDSHAKE)
  t.equal(await ended, 'ECONNRESET', 'the cut shows')
  t.match(received, /^HTTP\/1\.1 403 /, 'the declined answer had begun')
  await waitFor(() => gw.accessLogs().length === 1)
  t.match(gw.accessLogs()[0], { status: 403, error }, 'logged with the status that went out and why it was cut')
}

t.test("a declined upgrade's answer the upstream resets reaches the client as a reset, not a clean end", async (t) => {
  await declinedThenCut(t, (socket) => socket.resetAndDestroy(), 'upstream_unreachable')
})

t.test("a declined upgrade's answer whose body the upstream breaks reaches the client as a reset too", async (t) => {
  // a chunk-size line that is no hex number: undici's parser refuses it
  await declinedThenCut(t, (socket) => socket.write('zz\r\n'), 'upstream_bad_response')
})
