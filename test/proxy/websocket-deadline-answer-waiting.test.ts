// An upstream answer head already waiting in the socket when the handshake's deadline timer fires still counts: the
// deadline's verdict runs on the next turn, after the waiting bytes are read, and finds the answer there, as a
// request's does (src/proxy/attempt.ts). A declined answer that arrived in time is passed on whole, no timeout and
// no failure of the target; a loop that stalled past the deadline must not turn a timely answer into a 504 cut.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway } from './setup.ts'

t.test('a 403 head in the socket as the deadline fires: passed on whole, not cut as a timeout', async (t) => {
  let upstreamSocket: Socket | undefined
  let handshakeIn = false
  const server = createServer((socket) => {
    upstreamSocket = socket
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => { if (chunk.includes('\r\n\r\n')) handshakeIn = true })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstreamSocket?.destroy(); server.close() })
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [`http://127.0.0.1:${(server.address() as { port: number }).port}`],
        retry: { attempts: 1 },
        timeouts: { requestMs: 500 },
        outlier: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => handshakeIn)
  // in one turn: the head and half the body reach the gateway's socket, and the deadline's timer fires (its verdict
  // waits for the next turn's check phase, after the poll phase has read them)
  upstreamSocket!.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 20\r\n\r\n0123456789')
  clock.advance(500)
  await waitFor(() => client.received().includes('0123456789'))
  upstreamSocket!.write('abcdefghij')
  await client.closed
  t.match(client.received(), /^HTTP\/1\.1 403 /)
  t.ok(client.received().endsWith('0123456789abcdefghij'), 'the whole body')
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  const line = gw.accessLogs().find((l) => l.upgrade === true)!
  t.match(line, { status: 403, upstreamDeclinedUpgrade: true })
  t.equal(line.error, undefined, 'not cut as a timeout')
  await waitFor(() => target.inFlight === 0)
  t.equal(target.failures, 0, 'no failure of the target')
})
