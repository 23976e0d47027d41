// A WebSocket upgrade's access-log line counts its own bytes, as a request's line does: on a kept-alive connection
// that served requests before it, bytesOut is what was written since the connection's previous line (the 101 or the
// refusal, then the tunnel's data) and bytesIn what the client sent after the handshake's head (the tunnel's data,
// as a request's is its body). Summed over a connection's lines, bytesOut is what its client received. Before, an
// upgrade's line counted the whole connection from its first byte: the earlier requests' bytes were counted twice.
// An upgrade whose client left while it waited behind pipelined requests had no bytes fields at all.
import t from 'tap'
import { waitFor, type LogRecord } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { portOf } from './raw.ts'
import { gateway, upstream, type Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

const PLAIN = 3
/** Each plain answer's body: 10 bytes of 'z' (the test upstream's download), so a whole answer is easy to see. */
const BODY = 'z'.repeat(10)
const statusLines = (text: string): number => (text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length

/** A gateway, and a raw keep-alive connection to it that was sent PLAIN requests, each answered whole and logged. */
async function connectionAfterRequests (t: Tap) {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { ws: { targets: [u.url] } }, routes: [{ name: 'chat', path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  const c = rawConnection(t, portOf(gw.url))
  await c.connected
  const lineOf = (id: string): LogRecord | undefined => gw.accessLogs().find((l) => l.requestId === id)
  for (let i = 0; i < PLAIN; i++) {
    c.socket.write(`GET /plain?bytes=${BODY.length} HTTP/1.1\r\nHost: x\r\nX-Request-Id: plain-${i}\r\n\r\n`)
    await waitFor(() => statusLines(c.received()) === i + 1 && c.received().endsWith(BODY) && lineOf(`plain-${i}`) !== undefined)
  }
  return { u, gw, c, lineOf }
}

const sumOut = (lines: LogRecord[]): number => lines.reduce((sum, l) => sum + (l.bytesOut as number), 0)

t.test('a refused upgrade on a kept-alive connection counts only its refusal out and nothing in', async (t) => {
  const { gw, c, lineOf } = await connectionAfterRequests(t)
  const before = c.received().length
  gw.gateway.pools().get('ws')!.breaker.force('open')
  c.socket.write(wsHandshake('/ws', 'up-1'))
  await c.closed
  await waitFor(() => lineOf('up-1') !== undefined)
  const line = lineOf('up-1')!
  t.match(line, { status: 503, upgrade: true, error: 'circuit_open' })
  t.equal(line.bytesOut, c.received().length - before, 'bytesOut: the refusal')
  t.equal(line.bytesIn, 0, 'bytesIn: nothing after its head')
  t.equal(sumOut(gw.accessLogs()), c.received().length, "the connection's lines add up to what its client received")
})

t.test('a tunnel on a kept-alive connection counts its 101 and its data out, its data in', async (t) => {
  const { gw, c, lineOf } = await connectionAfterRequests(t)
  const before = c.received().length
  const early = 'early' // sent with the handshake: the tunnel's first bytes
  c.socket.write(wsHandshake('/ws', 'up-1') + early)
  await waitFor(() => /HTTP\/1\.1 101 [^]*\r\n\r\nearly$/.test(c.received().slice(before)))
  const message = 'hello through the tunnel'
  c.socket.write(message)
  await waitFor(() => c.received().endsWith(early + message))
  c.socket.end()
  await c.closed
  await waitFor(() => lineOf('up-1') !== undefined)
  const line = lineOf('up-1')!
  t.match(line, { status: 101, upgrade: true })
  t.equal(line.bytesIn, early.length + message.length, "bytesIn: the tunnel's data the client sent")
  t.equal(line.bytesOut, c.received().length - before, "bytesOut: the 101 and the tunnel's data")
  t.equal(sumOut(gw.accessLogs()), c.received().length, "the connection's lines add up to what its client received")
})

t.test('an upgrade whose client leaves while it waits behind a pipelined request is logged with its bytes', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const gw = await gateway(t, { pools: { ws: { targets: [u.url] } }, routes: [{ name: 'chat', path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  let upgrades = 0
  // after the gateway's own listener: the handshake is parsed and waits its turn
  gw.gateway.app.server.on('upgrade', () => { upgrades++ })
  const c = rawConnection(t, portOf(gw.url))
  c.socket.write(`GET /slow HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-1\r\n\r\n${wsHandshake('/ws', 'up-1')}`)
  await waitFor(() => u.requests.length === 1 && upgrades === 1)
  c.socket.destroy()
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'up-1'))
  const line = gw.accessLogs().find((l) => l.requestId === 'up-1')!
  t.match(line, { status: 499, upgrade: true, aborted: true })
  t.equal(line.bytesIn, 0, 'bytesIn: nothing after its head')
  t.equal(line.bytesOut, 0, 'bytesOut: nothing was written for it')
  t.equal(c.received(), '')
})
