// Graceful shutdown and the connections still open when the listener closes (in a handover, the last ones the old
// process took). A connection's first request is served with Connection: close even when nothing else is in flight
// (with Expect: 100-continue too), and so is a kept-alive connection's next request (its client, stalled through
// delayMs, never had an answer asking it to close); a request pipelined behind another never reaches an upstream,
// since the answer before it closes the connection; a kept-alive connection's WebSocket upgrade is refused; a
// connection that sends nothing is closed when the grace ends, but not one whose request already waits unread (the
// gateway stalled past the grace), and a handshake still waiting for its 101 does not hold the shutdown open. The
// gateway runs on a manual clock: the grace and the timeout end when the test says.
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { rawConnection, type RawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const CLOSED = 'listener closed, finishing requests in flight'
const GRACE_MS = 1000
const WEBSOCKET = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'

interface Setup { gw: TestGateway; clock: ManualClock; port: number; u: TestUpstream }

async function setup (t: Tap, delayMs = 0, upstreamUrl?: string): Promise<Setup> {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const config: GatewayConfig = {
    shutdown: { delayMs, timeoutMs: 5000 },
    pools: { u: { targets: [upstreamUrl ?? u.url] } },
    routes: [{ path: '/', pool: 'u' }],
  }
  const gw = await startGateway(config, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  return { gw, clock, u, port: Number(new URL(gw.url).port) }
}

/**
 * Raw connections the gateway's process has accepted (not only the kernel): a request on one more connection is
 * answered only after the listener was read, and libuv accepts every connection waiting there in one go.
 */
async function accepted (t: Tap, port: number, count: number): Promise<RawConnection[]> {
  const connections = Array.from({ length: count }, () => rawConnection(t, port))
  await Promise.all(connections.map((c) => c.connected))
  const probe = rawConnection(t, port)
  probe.socket.write('GET /accepted HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n')
  await probe.closed
  return connections
}

/** A raw connection that has had one request answered and is kept alive (what it received so far is cleared). */
async function keptAlive (t: Tap, port: number): Promise<RawConnection> {
  const c = rawConnection(t, port)
  c.socket.write('GET /before HTTP/1.1\r\nHost: gw\r\n\r\n')
  await waitFor(() => c.received().includes('"bodyBytes"'))
  c.reset()
  return c
}

async function beginShutdown (s: Setup): Promise<{ done: Promise<void>; isDone: () => boolean }> {
  let finished = false
  const done = s.gw.gateway.shutdown().then(() => { finished = true })
  s.clock.advance(0) // shutdown.delayMs 0
  await waitFor(() => s.gw.logs.some((l) => l.msg === CLOSED), 2000)
  return { done, isDone: () => finished }
}

const answers = (c: RawConnection): string[] => c.received().match(/HTTP\/1\.1 \d{3}/g) ?? []

/**
 * Blocks (the gateway runs in this process, so it stalls too) until the kernel holds bytes the gateway has not read
 * on its end of the connection (Linux: /proc/net/tcp's rx_queue), so its next turn finds them waiting there.
 */
function stallUntilUnread (gatewayPort: number, clientPort: number): void {
  const hex = (port: number): string => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  const deadline = Date.now() + 5000
  for (;;) {
    const row = readFileSync('/proc/net/tcp', 'latin1').split('\n').map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === hex(gatewayPort) && f[2] === hex(clientPort))
    if (row !== undefined && parseInt(row[4]!.split(':')[1]!, 16) > 0) return
    if (Date.now() > deadline) throw new Error('the request never showed up unread in the gateway\'s socket')
  }
}

t.test('a first request sent after the close is served; a silent connection is closed when the grace ends', async (t) => {
  const s = await setup(t)
  const [late, silent] = await accepted(t, s.port, 2)
  const hitsBefore = s.u.hits
  const shutdown = await beginShutdown(s)
  late!.socket.write('GET /first HTTP/1.1\r\nHost: gw\r\nX-Request-Id: late-first\r\n\r\n')
  await late!.closed
  t.equal(late!.error(), undefined, 'not reset')
  t.match(late!.received(), /^HTTP\/1\.1 200 /, 'its first request is served')
  t.match(late!.received().toLowerCase(), /\r\nconnection: close\r\n/, 'and asks the client to close')
  t.equal(s.u.hits, hitsBefore + 1, 'the upstream saw it')
  t.notOk(shutdown.isDone(), 'nothing is in flight, yet the drain waits: the grace is not over')
  t.notOk(silent!.socket.destroyed, 'the silent connection is still open')

  s.clock.advance(GRACE_MS)
  await silent!.closed
  await shutdown.done
  t.equal(silent!.received(), '', 'the connection that never sent a request got nothing')
  t.match(s.gw.accessLogs().find((l) => l.requestId === 'late-first'), { status: 200 }, 'logged')
  t.notOk(s.gw.logs.some((l) => String(l.msg).startsWith('shutdown timeout')), 'no timeout reported')
})

t.test('a kept-alive connection\'s next request, sent after the close (its last answer was from before the drain), is served with Connection: close', async (t) => {
  const s = await setup(t)
  const c = await keptAlive(t, s.port)
  const hitsBefore = s.u.hits
  const shutdown = await beginShutdown(s)
  c.socket.write('GET /next HTTP/1.1\r\nHost: gw\r\nX-Request-Id: kept-next\r\n\r\n')
  await c.closed
  t.equal(c.error(), undefined, 'not reset')
  t.same(answers(c), ['HTTP/1.1 200'], 'served')
  t.match(c.received().toLowerCase(), /\r\nconnection: close\r\n/, 'and asks the client to close')
  t.equal(s.u.hits, hitsBefore + 1, 'the upstream saw it')
  t.match(s.gw.accessLogs().find((l) => l.requestId === 'kept-next'), { status: 200 }, 'logged')
  s.clock.advance(GRACE_MS)
  await shutdown.done
  t.notOk(s.gw.logs.some((l) => String(l.msg).startsWith('shutdown timeout')), 'no timeout reported')
})

t.test('a request in the socket before the grace ended, unread as the gateway stalled past it, is served, not reset', { skip: !existsSync('/proc/net/tcp') && 'reads /proc/net/tcp (Linux)' }, async (t) => {
  const s = await setup(t)
  const c = await keptAlive(t, s.port)
  const hitsBefore = s.u.hits
  const shutdown = await beginShutdown(s)
  c.socket.write('GET /in-time HTTP/1.1\r\nHost: gw\r\nX-Request-Id: in-time\r\n\r\n')
  stallUntilUnread(s.port, c.socket.localPort!)
  // the grace's timer falls due before the gateway gets its next turn, as it does after a stall
  s.clock.advance(GRACE_MS)
  await c.closed
  t.equal(c.error(), undefined, 'not reset')
  t.same(answers(c), ['HTTP/1.1 200'], 'served')
  t.match(c.received().toLowerCase(), /\r\nconnection: close\r\n/, 'and asks the client to close')
  t.equal(s.u.hits, hitsBefore + 1, 'the upstream saw it')
  await shutdown.done
  t.match(s.gw.accessLogs().find((l) => l.requestId === 'in-time'), { status: 200 }, 'logged')
})

t.test('a first request with Expect: 100-continue is served too (the 100 Continue is not an answer)', async (t) => {
  const s = await setup(t)
  const [c] = await accepted(t, s.port, 1)
  const hitsBefore = s.u.hits
  const shutdown = await beginShutdown(s)
  c!.socket.write('POST /up HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nExpect: 100-continue\r\nX-Request-Id: continue-first\r\n\r\n')
  await waitFor(() => c!.received().includes('100 Continue') || c!.socket.destroyed)
  c!.socket.write('hello')
  await c!.closed
  t.same(answers(c!), ['HTTP/1.1 100', 'HTTP/1.1 200'], '100 Continue, then 200')
  t.equal(s.u.hits, hitsBefore + 1, 'the upstream saw it')
  s.clock.advance(GRACE_MS)
  await shutdown.done
})

t.test('requests pipelined behind another never reach an upstream once shutdown has begun', async (t) => {
  const pipelined = 'POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nX-Request-Id: p-1\r\n\r\nA' +
    'POST /b HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nX-Request-Id: p-2\r\n\r\nB'

  t.test('after the close, as the first bytes of a connection', async (t) => {
    const s = await setup(t)
    const [c] = await accepted(t, s.port, 1)
    const before = s.u.requests.length
    const shutdown = await beginShutdown(s)
    c!.socket.write(pipelined)
    await c!.closed
    t.same(answers(c!), ['HTTP/1.1 200'], 'one answer, then the connection closes')
    t.same(s.u.requests.slice(before).map((r) => r.url), ['/a'], 'only the answered request reached the upstream')
    s.clock.advance(GRACE_MS)
    await shutdown.done
  })

  t.test('while draining (delayMs), on a connection kept alive since before', async (t) => {
    const s = await setup(t, 60_000)
    const c = await keptAlive(t, s.port)
    const before = s.u.requests.length
    const done = s.gw.gateway.shutdown()
    await waitFor(() => s.gw.logs.some((l) => l.msg === 'shutting down: not ready, still serving'), 2000)
    c.socket.write(pipelined)
    await c.closed
    t.same(answers(c), ['HTTP/1.1 200'], 'one answer, with Connection: close')
    t.same(s.u.requests.slice(before).map((r) => r.url), ['/a'], 'only the answered request reached the upstream')
    s.clock.advance(60_000 + GRACE_MS)
    await done
  })
})

t.test('after the close, a kept-alive connection\'s WebSocket upgrade is refused with shutting_down', async (t) => {
  const s = await setup(t)
  const c = await keptAlive(t, s.port)
  const shutdown = await beginShutdown(s)
  c.socket.write(`GET /ws HTTP/1.1\r\nHost: gw\r\n${WEBSOCKET}\r\n`)
  await c.closed
  t.match(c.received(), /^HTTP\/1\.1 503 /, '503')
  t.match(c.received(), /"error":"shutting_down"/)
  s.clock.advance(GRACE_MS)
  await shutdown.done
})

t.test('a WebSocket handshake still waiting for its 101 does not hold the shutdown open', async (t) => {
  const held = new Set<Socket>()
  const upstream = createServer()
  upstream.on('upgrade', (_req: IncomingMessage, socket: Socket) => { held.add(socket) }) // never answers
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const socket of held) socket.destroy(); upstream.close() })
  const s = await setup(t, 0, `http://127.0.0.1:${(upstream.address() as { port: number }).port}`)
  const c = rawConnection(t, s.port)
  c.socket.write(`GET /ws HTTP/1.1\r\nHost: gw\r\n${WEBSOCKET}\r\n`)
  await waitFor(() => held.size === 1)
  const shutdown = await beginShutdown(s)
  s.clock.advance(GRACE_MS)
  await shutdown.done
  await c.closed
  t.equal(c.received(), '', 'the client got no 101, and its connection was closed')
})

t.test('a second shutdown() waits for the first; a kept-alive request after the close is still served', async (t) => {
  const s = await setup(t)
  const c = await keptAlive(t, s.port)
  const first = await beginShutdown(s)
  const second = s.gw.gateway.shutdown()
  c.socket.write('GET /after HTTP/1.1\r\nHost: gw\r\n\r\n')
  await c.closed
  t.match(c.received(), /^HTTP\/1\.1 200 /, 'served')
  s.clock.advance(GRACE_MS)
  await Promise.all([first.done, second])
  t.equal(s.gw.logs.filter((l) => l.msg === CLOSED).length, 1, 'one drain')
})

t.test('with nothing in flight, the grace and the timeout falling due in one turn report no timeout', async (t) => {
  const s = await setup(t)
  await accepted(t, s.port, 1) // an idle connection: only the grace ends the drain
  const shutdown = await beginShutdown(s)
  s.clock.advance(5000) // the grace and shutdown.timeoutMs, in one advance: both timers run before any promise job
  await shutdown.done
  t.notOk(s.gw.logs.some((l) => String(l.msg).startsWith('shutdown timeout')), 'no timeout reported')
  t.equal(s.clock.pendingTimers, 0, 'and no shutdown timer is left behind')
})

t.test('a kept-alive connection\'s next request, sent just before the grace ends, is served', async (t) => {
  // the grace (1 s after the close) is what a client stalled through delayMs has to send its next request: cut
  // shorter, such a client is reset, its request lost, though it came in time
  const s = await setup(t)
  const c = await keptAlive(t, s.port)
  const shutdown = await beginShutdown(s)
  s.clock.advance(GRACE_MS - 1)
  await new Promise((resolve) => setImmediate(resolve)) // a turn for anything the timers set off
  t.notOk(c.isClosed(), 'still open 999 ms after the close')
  c.socket.write('GET /next HTTP/1.1\r\nHost: gw\r\nX-Request-Id: kept-late\r\n\r\n')
  await c.closed
  t.equal(c.error(), undefined, 'not reset')
  t.same(answers(c), ['HTTP/1.1 200'], 'served')
  s.clock.advance(1)
  await shutdown.done
})

t.test('a kept-alive connection left idle is closed when the grace ends, though a slow request still runs', async (t) => {
  // the grace bounds how long an idle kept-alive connection is kept: one left open until the last slow request
  // ends could still bring a new request in, long after the listener closed
  const s = await setup(t)
  const idle = await keptAlive(t, s.port)
  s.u.mode = 'hang'
  const slow = rawConnection(t, s.port)
  const hits = s.u.hits
  slow.socket.write('GET /slow HTTP/1.1\r\nHost: gw\r\n\r\n')
  await waitFor(() => s.u.hits === hits + 1)
  const shutdown = await beginShutdown(s)
  s.clock.advance(GRACE_MS)
  await waitFor(() => idle.isClosed(), 2000)
  t.equal(idle.received(), '', 'closed, with nothing sent')
  t.notOk(shutdown.isDone(), 'the slow request still holds the shutdown open')
  t.notOk(slow.isClosed(), 'and its connection')
  s.clock.advance(5000) // shutdown.timeoutMs
  await shutdown.done
})
