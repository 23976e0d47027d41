// Hostile WebSocket handshakes: invalid ones are refused before any upstream connection, an upstream that
// answers 200 instead of 101 gets no tunnel, and refused upgrades give their sockets back.
import type { Socket } from 'node:net'
import { connect } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream, type Tap } from '../proxy/setup.ts'
import { converse } from './wire.ts'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

function handshake (lines: readonly string[], method = 'GET', version = '1.1'): string {
  return [`${method} /ws HTTP/${version}`, 'Host: chat.example', 'Connection: Upgrade', 'Upgrade: websocket', ...lines, '', ''].join('\r\n')
}

async function setup (t: Tap) {
  const ws = await upstream(t, 'ws')
  const gw = await gateway(t, { pools: { ws: { targets: [ws.url] } }, routes: [{ path: '/ws', pool: 'ws' }] }, { defaultMetrics: false })
  const port = Number(new URL(gw.url).port)
  const connections = (): Promise<number> => new Promise((resolve, reject) => gw.gateway.app.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
  const inFlight = (): number => gw.gateway.pools().get('ws')!.pool.targets.reduce((n, target) => n + target.inFlight, 0)
  return { ws, gw, port, connections, inFlight }
}

/** What a client that sends a valid handshake receives, until its connection closes, when the upstream answers the upgrade with `answer`. */
async function handshakeAnsweredWith (t: Tap, ws: { server: import('node:http').Server }, port: number, answer: string): Promise<string> {
  ws.server.removeAllListeners('upgrade')
  ws.server.on('upgrade', (_req, socket: Socket) => { socket.end(answer) })
  const client = connect(port, '127.0.0.1')
  t.teardown(() => client.destroy())
  let received = ''
  client.on('data', (d: Buffer) => { received += d.toString('latin1') })
  client.on('error', () => {})
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  client.write(handshake([`Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13']))
  await closed
  return received
}

const INVALID: readonly { name: string; rfc: string; bytes: string; versionHeader?: boolean }[] = [
  { name: 'no Sec-WebSocket-Key', rfc: 'RFC 6455 §4.2.1 (4)', bytes: handshake(['Sec-WebSocket-Version: 13']) },
  { name: 'a Sec-WebSocket-Key that is not a 16-byte nonce', rfc: 'RFC 6455 §4.2.1 (4)', bytes: handshake(['Sec-WebSocket-Key: short', 'Sec-WebSocket-Version: 13']) },
  { name: 'two Sec-WebSocket-Key lines', rfc: 'RFC 6455 §4.2.1 (4)', bytes: handshake([`Sec-WebSocket-Key: ${KEY}`, `Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13']) },
  { name: 'no Sec-WebSocket-Version', rfc: 'RFC 6455 §4.2.1 (6)', bytes: handshake([`Sec-WebSocket-Key: ${KEY}`]), versionHeader: true },
  { name: 'Sec-WebSocket-Version 8', rfc: 'RFC 6455 §4.2.1 (6), §4.4', bytes: handshake([`Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 8']), versionHeader: true },
  { name: 'an upgrade on POST', rfc: 'RFC 6455 §4.2.1 (1)', bytes: handshake([`Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13'], 'POST') },
  // the protocol would switch only after the whole request (RFC 9110 §7.8): its body went on as the tunnel's first
  // bytes, as WebSocket frames, with its Content-Length dropped (review r42b)
  { name: 'a body announced by Content-Length', rfc: 'RFC 9110 §7.8, RFC 6455 §4.1', bytes: handshake([`Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13', 'Content-Length: 5']) + 'hello' },
  { name: 'a chunked body', rfc: 'RFC 9110 §7.8, RFC 6455 §4.1', bytes: handshake([`Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13', 'Transfer-Encoding: chunked']) + '5\r\nhello\r\n0\r\n\r\n' },
]

t.test('invalid WebSocket handshakes are 400 and never reach the upstream', async (t) => {
  const { ws, port, inFlight } = await setup(t)
  for (const c of INVALID) {
    const res = await converse(port, c.bytes, { waitForClose: true })
    const first = res.responses[0]
    t.equal(first?.status, 400, `${c.name} (${c.rfc})`)
    t.equal(first && JSON.parse(first.body.toString()).error, 'bad_request', `${c.name}: error code`)
    t.ok(res.closed, `${c.name}: the connection is closed`)
    if (c.versionHeader === true) t.equal(first?.headers['sec-websocket-version'], '13', `${c.name}: the version spoken is named (RFC 6455 §4.4)`)
  }
  t.equal(ws.hits, 0, 'nothing reached the upstream')
  t.equal(inFlight(), 0)
})

t.test('refused upgrades release their sockets even when the client never closes its side', async (t) => {
  const { port, connections } = await setup(t)
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy() })
  const bytes = handshake(['Sec-WebSocket-Version: 13'])
  // 50 clients that get their 400 and then just sit there: allowHalfOpen, so they never send their FIN
  await Promise.all(Array.from({ length: 50 }, () => new Promise<void>((resolve) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => s.write(bytes))
    sockets.push(s)
    s.once('data', () => resolve())
    s.on('error', () => resolve())
  })))
  await waitFor(async () => (await connections()) === 0, 5000)
  t.equal(await connections(), 0, 'the gateway holds none of them')
})

t.test('an upstream that answers 200 instead of 101 gets no tunnel (RFC 6455 §4.1, RFC 9110 §7.8)', async (t) => {
  const { ws, port, connections, inFlight } = await setup(t)
  const after: Buffer[] = []
  ws.server.removeAllListeners('upgrade')
  ws.server.on('upgrade', (_req, socket: Socket) => {
    socket.on('data', (d: Buffer) => after.push(d))
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nplain')
  })
  const client = connect(port, '127.0.0.1')
  t.teardown(() => client.destroy())
  let received = ''
  client.on('data', (d: Buffer) => { received += d.toString('latin1') })
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  client.on('error', () => {})
  client.write(handshake([`Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13']))
  await waitFor(() => received.includes('plain'))
  t.match(received, /^HTTP\/1\.1 200 /, "the upstream's answer is passed on")
  t.match(received, /connection: close/i, 'and the connection is to close')
  // what the client sends now would be tunnel data if a tunnel had been opened
  if (!client.destroyed) client.write('tunnel bytes that must go nowhere')
  await closed
  t.equal(Buffer.concat(after).toString().includes('tunnel bytes'), false, 'nothing the client sent afterwards reached the upstream')
  await waitFor(async () => inFlight() === 0 && (await connections()) === 0)
  t.equal(inFlight(), 0)
})

t.test('an upstream that answers a handshake with bytes that are not HTTP: 502 upstream_bad_response, no tunnel (RFC 9112 §4)', async (t) => {
  const { ws, port, connections, inFlight } = await setup(t)
  const received = await handshakeAnsweredWith(t, ws, port, 'SSH-2.0-OpenSSH_9.2\r\n\r\n')
  t.match(received, /^HTTP\/1\.1 502 /)
  t.match(received, /"error":"upstream_bad_response"/, 'the upstream\'s bytes were at fault, not its connection')
  await waitFor(async () => inFlight() === 0 && (await connections()) === 0)
})

t.test('an upstream that declines a handshake with a status past 599: 502 upstream_bad_response, never passed on or counted (RFC 9110 §15)', async (t) => {
  const { ws, gw, port, connections, inFlight } = await setup(t)
  const received = await handshakeAnsweredWith(t, ws, port, 'HTTP/1.1 777 Odd\r\ncontent-length: 0\r\n\r\n')
  t.match(received, /^HTTP\/1\.1 502 /)
  t.match(received, /"error":"upstream_bad_response"/)
  await waitFor(async () => inFlight() === 0 && (await connections()) === 0)
  t.equal(gw.accessLogs().at(-1)?.status, 502, 'logged as the 502 the client got')
})

t.test('an upstream that sends 103 Early Hints before declining a handshake: the client gets the final answer only (RFC 9110 §15.2)', async (t) => {
  const { ws, port, connections, inFlight } = await setup(t)
  const received = await handshakeAnsweredWith(t, ws, port, 'HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno')
  t.match(received, /^HTTP\/1\.1 403 /, 'the final answer is the first status line the client sees')
  t.equal(received.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, 'and the only one')
  t.match(received, /\r\n\r\nno$/)
  await waitFor(async () => inFlight() === 0 && (await connections()) === 0)
})

t.test('a refused upgrade reads and drops what the client sends after it, and the connection ends cleanly', async (t) => {
  // more than the kernels on both sides hold: unless the gateway reads and drops it, the client's last bytes never
  // leave it, and the lingering close resets the connection
  const { port, connections } = await setup(t)
  // allowHalfOpen: it goes on sending after the gateway's FIN, as a client with its data on the way does
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  t.teardown(() => client.destroy())
  let received = ''
  let error: string | undefined
  client.on('data', (d: Buffer) => { received += d.toString('latin1') })
  client.on('error', (err: NodeJS.ErrnoException) => { error = err.code })
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  client.write(handshake(['Sec-WebSocket-Version: 13']))
  await waitFor(() => /"error":"bad_request"/.test(received))
  t.match(received, /^HTTP\/1\.1 400 /, 'refused')
  client.end(Buffer.alloc(32 * 1024 * 1024, 'z'))
  await closed
  t.equal(error, undefined, 'all of it was taken: closed, not reset')
  await waitFor(async () => (await connections()) === 0)
})
