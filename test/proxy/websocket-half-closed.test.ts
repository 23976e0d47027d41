// A WebSocket tunnel one side has ended (FIN) while the other keeps its end open: the gateway passes the FIN on, and
// closes both ends after TUNNEL_FIN_GRACE_MS (never more than tunnelIdleMs) without a byte either way, a normal tunnel
// end (status 101, no error). Before, it stayed open, counted in tunnels and in flight (a drain never ended), until
// tunnelIdleMs (1 h by default). The upstream here is node:http that accepts the upgrade and never closes on its own
// (as a server waiting for a close frame does); the gateway runs on a manual clock, so nothing waits for the grace.
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import { TUNNEL_FIN_GRACE_MS } from '../../src/proxy/upgrade-attempt.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import { portOf } from './raw.ts'
import { gateway, type Tap } from './setup.ts'
import { openTunnel, type Tunnel } from './ws-tunnel.ts'

interface UpstreamEnd {
  readonly socket: Socket
  /** What the client sent through the tunnel. */
  received (): string
  ended (): boolean
  closed (): boolean
}

/** A node:http upstream that switches protocols, echoes while it may write, and never ends or closes on its own. */
async function halfOpenUpstream (t: Tap): Promise<{ url: string, next: () => Promise<UpstreamEnd> }> {
  const server = createServer()
  const waiting: ((end: UpstreamEnd) => void)[] = []
  const sockets = new Set<Socket>()
  server.on('upgrade', (_req, socket: Socket) => {
    sockets.add(socket)
    let received = ''
    let ended = false
    let closed = false
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString()
      if (socket.writable) socket.write(chunk)
    })
    socket.on('end', () => { ended = true })
    socket.on('close', () => { closed = true; sockets.delete(socket) })
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    waiting.shift()?.({ socket, received: () => received, ended: () => ended, closed: () => closed })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    next: () => new Promise((resolve) => waiting.push(resolve)),
  }
}

async function setup (t: Tap, tunnelIdleMs?: number): Promise<{ gw: TestGateway, clock: ManualClock, tunnel: Tunnel, up: UpstreamEnd }> {
  const upstream = await halfOpenUpstream(t)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { ws: { targets: [upstream.url], ...(tunnelIdleMs !== undefined ? { timeouts: { tunnelIdleMs } } : {}) } },
    routes: [{ path: '/', pool: 'ws' }],
  }, { clock, defaultMetrics: false })
  const upEnd = upstream.next()
  const tunnel = await openTunnel(t, portOf(gw.url))
  // the client keeps its own end open when the gateway's FIN comes (net.Socket would answer it with its own)
  tunnel.socket.allowHalfOpen = true
  return { gw, clock, tunnel, up: await upEnd }
}

/** Lets socket events already under way land before the test looks (the clock does not move). */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

function target (gw: TestGateway): TargetStatusView {
  return gw.gateway.status().pools.ws!.targets[0]!
}

function received (socket: Socket): () => string {
  let got = ''
  socket.on('data', (chunk: Buffer) => { got += chunk.toString() })
  return () => got
}

/**
 * A socket closed as a peer that kept its end open sees it: the gateway's FIN came long ago, so only its next write
 * is refused (a reset).
 */
async function closedUnderIt (socket: Socket, isClosed: () => boolean): Promise<void> {
  await waitFor(() => {
    if (!isClosed() && socket.writable) socket.write('still there?')
    return isClosed()
  })
}

async function closedAsANormalEnd (t: Tap, gw: TestGateway, tunnel: Tunnel, up: UpstreamEnd): Promise<void> {
  await closedUnderIt(tunnel.socket, tunnel.isClosed)
  await closedUnderIt(up.socket, up.closed)
  t.pass('both ends are closed')
  await waitFor(() => target(gw).tunnels === 0)
  t.match(target(gw), { inFlight: 0, tunnels: 0 }, "the target's slot is released")
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === tunnel.requestId))
  const line = gw.accessLogs().find((l) => l.requestId === tunnel.requestId)!
  t.match(line, { status: 101, upgrade: true })
  t.notOk('error' in line || 'aborted' in line || 'tunnelIdleTimeout' in line, 'a normal tunnel end')
}

t.test('the client ends: the upstream has the grace to answer, then both ends are closed', async (t) => {
  const { gw, clock, tunnel, up } = await setup(t)
  const toClient = received(tunnel.socket)
  tunnel.socket.end()
  await waitFor(() => up.ended())
  t.pass('the FIN was passed on to the upstream')
  up.socket.write('close frame')
  await waitFor(() => toClient() === 'close frame')
  t.pass('the upstream\'s answer still reaches the client')
  clock.advance(TUNNEL_FIN_GRACE_MS - 1)
  await settle()
  t.equal(tunnel.isClosed(), false, 'open until the grace ends')
  t.equal(target(gw).tunnels, 1)
  clock.advance(1)
  await closedAsANormalEnd(t, gw, tunnel, up)
})

t.test('the upstream ends: the client has the grace to answer, then both ends are closed', async (t) => {
  const { gw, clock, tunnel, up } = await setup(t)
  const clientSawEnd = new Promise<void>((resolve) => tunnel.socket.once('end', resolve))
  up.socket.end()
  await clientSawEnd
  t.pass('the FIN was passed on to the client')
  tunnel.socket.write('close frame')
  await waitFor(() => up.received().endsWith('close frame'))
  t.pass('the client\'s answer still reaches the upstream')
  clock.advance(TUNNEL_FIN_GRACE_MS - 1)
  await settle()
  t.equal(tunnel.isClosed(), false, 'open until the grace ends')
  t.equal(target(gw).tunnels, 1)
  clock.advance(1)
  await closedAsANormalEnd(t, gw, tunnel, up)
})

t.test('both sides end: the tunnel closes at once, without waiting for the grace', async (t) => {
  const { gw, tunnel, up } = await setup(t)
  up.socket.once('end', () => up.socket.end())
  tunnel.socket.end()
  await closedAsANormalEnd(t, gw, tunnel, up)
})

t.test('a half-closed tunnel still carrying bytes is not cut: the grace counts silence', async (t) => {
  // a client that sent its FIN on purpose and still reads a download (HAProxy's client-fin counts inactivity too):
  // cut 5 s after the FIN, it lost the rest (review r36f)
  const { gw, clock, tunnel, up } = await setup(t)
  const toClient = received(tunnel.socket)
  tunnel.socket.end()
  await waitFor(() => up.ended())
  for (let i = 1; i <= 4; i++) {
    clock.advance(TUNNEL_FIN_GRACE_MS - 1)
    up.socket.write(`chunk ${i};`)
    await waitFor(() => toClient().endsWith(`chunk ${i};`))
  }
  t.equal(tunnel.isClosed(), false, 'open past four graces while bytes come')
  clock.advance(TUNNEL_FIN_GRACE_MS - 1)
  await settle()
  t.equal(tunnel.isClosed(), false, 'open until a grace of silence has passed')
  clock.advance(1)
  await closedAsANormalEnd(t, gw, tunnel, up)
})

t.test('a half-closed tunnel whose reader holds its bytes back a while is not cut: bytes still to deliver are no silence', async (t) => {
  // a client that half-closed, then stopped reading for longer than the grace (backpressure): cut 5 s after its last
  // byte, it lost the rest of a download it was still to read (review r36i)
  const { gw, clock, tunnel, up } = await setup(t)
  tunnel.socket.end()
  await waitFor(() => up.ended())
  tunnel.socket.pause()
  // more than the kernel's buffers hold on both hops: the gateway is left holding bytes the client has not read
  const chunk = Buffer.alloc(1024 * 1024, 'x')
  const sent = 32 * chunk.length
  for (let i = 0; i < 32; i++) up.socket.write(chunk)
  await new Promise((resolve) => setTimeout(resolve, 300))
  clock.advance(TUNNEL_FIN_GRACE_MS * 3)
  await settle()
  t.equal(target(gw).tunnels, 1, 'the tunnel is still open while its bytes wait for the reader')
  let got = 0
  tunnel.socket.on('data', (data: Buffer) => { got += data.length })
  tunnel.socket.resume()
  await waitFor(() => got >= sent)
  t.equal(got, sent, 'every byte delivered')
  clock.advance(TUNNEL_FIN_GRACE_MS)
  await closedAsANormalEnd(t, gw, tunnel, up)
})

t.test('the grace is never longer than tunnelIdleMs', async (t) => {
  const { gw, clock, tunnel, up } = await setup(t, 1000)
  const toClient = received(tunnel.socket)
  tunnel.socket.end()
  await waitFor(() => up.ended())
  clock.advance(600)
  up.socket.write('late')
  await waitFor(() => toClient() === 'late')
  clock.advance(999)
  await settle()
  t.equal(tunnel.isClosed(), false, '1000 ms of silence not yet')
  clock.advance(1)
  await closedAsANormalEnd(t, gw, tunnel, up)
})

t.test('both sides open: the grace does not apply, the tunnel runs on', async (t) => {
  const { gw, clock, tunnel } = await setup(t)
  clock.advance(TUNNEL_FIN_GRACE_MS * 10)
  await settle()
  t.equal(tunnel.isClosed(), false)
  await tunnel.roundTrip()
  t.equal(target(gw).tunnels, 1)
})
