// Belongs in test/proxy/. A half-closed WebSocket tunnel whose bytes wait in the gateway for a reader that stopped
// reading (backpressure), either way (src/proxy/upgrade-attempt.ts, the FIN grace's finCheck, review r36i):
// - bytes the gateway holds for the upstream (the client's upload after the upstream's FIN) keep it open past the
//   grace, as bytes held for the client do (`upSocket.writableLength` in `queued`);
// - bytes delivered once the reader reads again count as activity ('drain' on either socket): the grace restarts
//   from the delivery, not from the last byte that came in;
// - held bytes are bounded by tunnelIdleMs (a cut counted as the tunnel's idle timeout), and by nothing when
//   tunnelIdleMs is 0 (no idle limit).
// The gateway runs on a manual clock; its client-side socket is taken from the server's 'upgrade' event, so the test
// sees what the gateway holds (writableLength) and whether its pipe stopped reading (isPaused) instead of guessing
// kernel buffer sizes.
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import t from 'tap'
import { TUNNEL_FIN_GRACE_MS } from '../../src/proxy/upgrade-attempt.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import { portOf } from './raw.ts'
import { gateway, type Tap } from './setup.ts'
import { openTunnel, type Tunnel } from './ws-tunnel.ts'

const GRACE = TUNNEL_FIN_GRACE_MS

interface UpstreamEnd { readonly socket: Socket; ended (): boolean }

/** A node:http upstream that switches protocols and then does nothing unless the test says (echoes the first bytes). */
async function quietUpstream (t: Tap): Promise<{ url: string, next: () => Promise<UpstreamEnd> }> {
  const server = createServer()
  const waiting: ((end: UpstreamEnd) => void)[] = []
  const sockets = new Set<Socket>()
  server.on('upgrade', (_req, socket: Socket) => {
    sockets.add(socket)
    let ended = false
    let echo = true
    socket.on('error', () => {})
    // echoes openTunnel's round trip only
    socket.on('data', (chunk: Buffer) => { if (echo) { echo = false; socket.write(chunk) } })
    socket.on('end', () => { ended = true })
    socket.on('close', () => sockets.delete(socket))
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    waiting.shift()?.({ socket, ended: () => ended })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    next: () => new Promise((resolve) => waiting.push(resolve)),
  }
}

interface Setup { gw: TestGateway, clock: ManualClock, tunnel: Tunnel, up: UpstreamEnd, gwSocket: Socket }

async function setup (t: Tap, tunnelIdleMs?: number): Promise<Setup> {
  const upstream = await quietUpstream(t)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { ws: { targets: [upstream.url], ...(tunnelIdleMs !== undefined ? { timeouts: { tunnelIdleMs } } : {}) } },
    routes: [{ path: '/', pool: 'ws' }],
  }, { clock, defaultMetrics: false })
  let gwSocket: Socket | undefined
  gw.gateway.app.server.on('upgrade', (_req, socket: Socket) => { gwSocket = socket })
  const upEnd = upstream.next()
  const tunnel = await openTunnel(t, portOf(gw.url))
  tunnel.socket.allowHalfOpen = true
  return { gw, clock, tunnel, up: await upEnd, gwSocket: gwSocket! }
}

/** Polls `check` every event-loop turn (bytes through loopback take a few), for up to 5 s of real time. */
async function until (check: () => boolean): Promise<void> {
  const end = Date.now() + 5000
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met within 5000 ms')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/**
 * The upstream writes until the gateway holds bytes for the paused client and its pipe has stopped reading the
 * upstream (the write that filled its buffer returned false), with every byte the upstream sent read by the gateway:
 * once the client reads again, the gateway's 'drain' is the only activity left.
 */
async function holdForClient (up: UpstreamEnd, gwSocket: Socket): Promise<number> {
  let sent = 0
  while (!gwSocket.writableNeedDrain) {
    // 8 KiB at a time while the kernel takes all (it cannot fill the gateway's 16 KiB buffer), then 1 KiB
    const size = gwSocket.writableLength === 0 ? 8192 : 1024
    const before = gwSocket.bytesWritten
    up.socket.write(Buffer.alloc(size, 'd'))
    sent += size
    await until(() => gwSocket.bytesWritten >= before + size)
  }
  return sent
}

/** The same the other way: the client writes until the gateway holds bytes for the paused upstream (its pipe paused). */
async function holdForUpstream (tunnel: Tunnel, gwSocket: Socket): Promise<number> {
  let sent = 0
  while (!gwSocket.isPaused()) {
    const before = gwSocket.bytesRead
    tunnel.socket.write(Buffer.alloc(1024, 'u'))
    sent += 1024
    await until(() => gwSocket.bytesRead >= before + 1024 || gwSocket.isPaused())
  }
  return sent
}

function tunnels (gw: TestGateway): number {
  return gw.gateway.status().pools.ws!.targets[0]!.tunnels
}

async function logLine (gw: TestGateway, tunnel: Tunnel): Promise<Record<string, unknown>> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === tunnel.requestId))
  return gw.accessLogs().find((l) => l.requestId === tunnel.requestId)! as Record<string, unknown>
}

t.test('bytes held for the client: their delivery restarts the grace', async (t) => {
  const { gw, clock, tunnel, up, gwSocket } = await setup(t)
  tunnel.socket.end()
  await waitFor(() => up.ended())
  tunnel.socket.pause()
  const sent = await holdForClient(up, gwSocket)
  clock.advance(2 * GRACE + 2000)
  await settle()
  t.equal(tunnels(gw), 1, 'open while bytes wait for the reader')
  let got = 0
  tunnel.socket.on('data', (d: Buffer) => { got += d.length })
  tunnel.socket.resume()
  await waitFor(() => got >= sent && gwSocket.writableLength === 0)
  // the last byte came in 2 graces and 2 s ago; it went out just now
  clock.advance(GRACE - 2000)
  await settle()
  t.equal(tunnels(gw), 1, 'a grace of silence has not passed since the bytes were delivered')
  clock.advance(2000)
  await waitFor(() => tunnels(gw) === 0)
  t.notOk('tunnelIdleTimeout' in await logLine(gw, tunnel), 'a normal end')
})

t.test('bytes held for the upstream keep the tunnel open, and their delivery restarts the grace', async (t) => {
  const { gw, clock, tunnel, up, gwSocket } = await setup(t)
  const clientSawEnd = new Promise<void>((resolve) => tunnel.socket.once('end', resolve))
  up.socket.pause()
  up.socket.end()
  await clientSawEnd
  const sent = await holdForUpstream(tunnel, gwSocket)
  clock.advance(2 * GRACE + 2000)
  await settle()
  t.equal(tunnels(gw), 1, 'open while bytes wait for the upstream to read them')
  let got = 0
  up.socket.on('data', (d: Buffer) => { got += d.length })
  up.socket.resume()
  await waitFor(() => got >= sent)
  await settle()
  clock.advance(GRACE - 2000)
  await settle()
  t.equal(tunnels(gw), 1, 'a grace of silence has not passed since the bytes were delivered')
  clock.advance(2000)
  await waitFor(() => tunnels(gw) === 0)
  t.notOk('tunnelIdleTimeout' in await logLine(gw, tunnel), 'a normal end')
})

t.test('held bytes are bounded by tunnelIdleMs: then the tunnel is cut as idle', async (t) => {
  const idleMs = 4 * GRACE
  const { gw, clock, tunnel, up, gwSocket } = await setup(t, idleMs)
  tunnel.socket.end()
  await waitFor(() => up.ended())
  tunnel.socket.pause()
  await holdForClient(up, gwSocket)
  clock.advance(idleMs - 1)
  await settle()
  t.equal(tunnels(gw), 1, 'open short of tunnelIdleMs')
  clock.advance(1)
  await waitFor(() => tunnels(gw) === 0)
  t.match(await logLine(gw, tunnel), { status: 101, tunnelIdleTimeout: true })
})

t.test('tunnelIdleMs 0 (no idle limit): held bytes keep the tunnel open however long', async (t) => {
  const { gw, clock, tunnel, up, gwSocket } = await setup(t, 0)
  tunnel.socket.end()
  await waitFor(() => up.ended())
  tunnel.socket.pause()
  const sent = await holdForClient(up, gwSocket)
  for (let i = 0; i < 10; i++) clock.advance(GRACE)
  await settle()
  t.equal(tunnels(gw), 1, 'open after ten graces')
  let got = 0
  tunnel.socket.on('data', (d: Buffer) => { got += d.length })
  tunnel.socket.resume()
  await waitFor(() => got >= sent)
  t.equal(got, sent, 'every byte delivered')
})
