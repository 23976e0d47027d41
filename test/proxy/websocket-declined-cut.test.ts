// A declined WebSocket upgrade (the target answers 403 instead of 101) whose answer ends badly is logged as what
// happened: cut by the upstream (its error code), or left by the client (aborted), each once and still marked as
// declined by the upstream.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, type Tap } from './setup.ts'
import { sendHandshake } from './queued-handshake.ts'

/** An upstream that declines every upgrade with a 403 promising 100 bytes, sends 10, then does what `then` says. */
async function decliner (t: Tap, then: (socket: Socket) => void): Promise<string> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', () => {
      socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789')
      then(socket)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sockets = new Set<Socket>()
  server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const address = server.address() as { port: number }
  return `http://127.0.0.1:${address.port}`
}

async function declinedLine (t: Tap, then: (socket: Socket) => void, client: (socket: Socket) => void): Promise<Record<string, unknown>> {
  const url = await decliner(t, then)
  const gw = await gateway(t, { pools: { p: { targets: [url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const c = await sendHandshake(t, gw.url)
  await waitFor(() => c.received().includes('0123456789'))
  client(c.socket)
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  await new Promise((resolve) => setTimeout(resolve, 50)) // a second line would show by now
  const lines = gw.accessLogs().filter((l) => l.upgrade === true)
  t.equal(lines.length, 1, 'one line')
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  await waitFor(() => target.inFlight === 0)
  return lines[0]!
}

t.test('the upstream resets in the middle of its 403: logged with the upstream\'s error', async (t) => {
  const line = await declinedLine(t, (socket) => setTimeout(() => socket.resetAndDestroy(), 20), () => {})
  t.equal(line.status, 403)
  t.equal(line.upstreamDeclinedUpgrade, true)
  t.equal(line.error, 'upstream_unreachable', 'as a request cut mid-body by a reset is logged')
  t.equal(line.aborted, undefined)
})

t.test('the client leaves in the middle of the 403: logged as aborted', async (t) => {
  const line = await declinedLine(t, () => {}, (socket) => socket.resetAndDestroy())
  t.equal(line.status, 403)
  t.equal(line.upstreamDeclinedUpgrade, true)
  t.equal(line.aborted, true)
})
