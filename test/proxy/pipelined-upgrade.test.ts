// A WebSocket upgrade pipelined behind a request still being answered waits its turn, as a pipelined request does
// (test/proxy/pipelining.test.ts): its 101 comes after the earlier answer, never in the middle of it, and the
// handshake does not reach the target before then. If the earlier answer closes the connection, the upgrade is
// never acted on (RFC 9112 §9.3.2, §9.6). The upstream holds /hold/* until the test releases it.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { MAX_WAITING } from '../../src/proxy/pipelining.ts'
import { wsHandshake } from './ws-tunnel.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface Upstream { url: string; seen: string[]; release: () => void }

/** Records what arrives, holds /hold/* until released, and answers upgrades with a 101 and an echo. */
async function upstream (t: Tap): Promise<Upstream> {
  const seen: string[] = []
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    req.resume()
    if (req.url?.startsWith('/hold/') === true) held.push(res)
    else if (req.url?.startsWith('/big/') === true) res.end(Buffer.alloc(BIG, 98))
    else if (req.url?.startsWith('/die/') === true) {
      res.writeHead(200, { 'content-length': '100' })
      res.write('part of it')
      setTimeout(() => res.socket?.destroy(), 50)
    } else res.end('plain')
  })
  server.on('upgrade', (req, socket: Socket) => {
    seen.push(`UPGRADE ${req.url}`)
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const release = (): void => { for (const res of held.splice(0)) res.end('released') }
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, release }
}

async function gatewayBefore (t: Tap, u: Upstream): Promise<{ port: number; logs: () => Array<Record<string, unknown>>; gw: TestGateway }> {
  // no retries: an upstream that dies mid-answer is the point of one case; a client that stops reading is cut after
  // 3 s (not 60): a stalled answer shows within a test's time
  const gw = await startGateway({ pools: { u: { targets: [u.url], retry: { attempts: 1 }, timeouts: { clientIdleMs: 3000 } } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return { port: Number(new URL(gw.url).port), logs: () => gw.accessLogs() as Array<Record<string, unknown>>, gw }
}

const statusLines = (text: string): string[] => text.match(/HTTP\/1\.1 \d{3}/g) ?? []
/** An answer large enough to fill the socket buffers of a client that stops reading for a moment. */
const BIG = 8 * 1024 * 1024
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100))

t.test('an upgrade pipelined behind an unanswered request is answered after it, then tunnels', async (t) => {
  const u = await upstream(t)
  const { port } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\n' + wsHandshake('/ws', 'ws-piped'))
  await waitFor(() => u.seen.length >= 1)
  await settle()
  t.same(u.seen, ['GET /hold/1'], 'the handshake waits: not sent to the target while the request before it is unanswered')
  t.equal(c.received(), '', 'nothing written to the client yet')
  u.release()
  await waitFor(() => statusLines(c.received()).length === 2)
  const text = c.received()
  t.same(statusLines(text), ['HTTP/1.1 200', 'HTTP/1.1 101'], 'the answer first, then the 101')
  t.ok(text.indexOf('released') < text.indexOf('HTTP/1.1 101'), 'the whole earlier answer comes before the 101')
  t.same(u.seen, ['GET /hold/1', 'UPGRADE /ws'])
  c.reset()
  c.socket.write('echo me')
  await waitFor(() => c.received() === 'echo me')
  t.equal(c.received(), 'echo me', 'the tunnel carries bytes both ways')
})

t.test('an upgrade pipelined behind a request that closes the connection is never acted on', async (t) => {
  const u = await upstream(t)
  const { port, logs } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /hold/1 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n' + wsHandshake('/ws', 'ws-after-close'))
  await waitFor(() => u.seen.length >= 1)
  u.release()
  await c.closed
  t.same(statusLines(c.received()), ['HTTP/1.1 200'], 'the earlier answer only, then the connection closed')
  t.same(u.seen, ['GET /hold/1'], 'the handshake never reached the target')
  t.notOk(logs().some((l) => l.requestId === 'ws-after-close'), 'Node never hands the gateway anything after a request that closes')
})

t.test('bytes the client sends while its handshake waits its turn reach the target once the tunnel opens', async (t) => {
  const u = await upstream(t)
  const { port } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\n' + wsHandshake('/ws', 'ws-eager'))
  await waitFor(() => u.seen.length >= 1)
  await settle()
  c.socket.write('sent early')
  await settle()
  u.release()
  await waitFor(() => c.received().endsWith('sent early'))
  t.same(statusLines(c.received()), ['HTTP/1.1 200', 'HTTP/1.1 101'])
  t.match(c.received(), /\r\n\r\nsent early$/, 'echoed through the tunnel, after the 101')
})

t.test('an upgrade pipelined behind a request whose client leaves is dropped with the connection', async (t) => {
  const u = await upstream(t)
  const { port, logs } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\n' + wsHandshake('/ws', 'ws-left'))
  await waitFor(() => u.seen.length >= 1)
  await settle()
  c.socket.destroy()
  await waitFor(() => logs().some((l) => l.requestId === 'ws-left'))
  const line = logs().find((l) => l.requestId === 'ws-left')!
  t.equal(line.status, 499, 'logged once, as a client that was gone before its turn')
  t.equal(line.upgrade, true)
  u.release()
  await settle()
  t.same(u.seen, ['GET /hold/1'], 'the handshake never reached the target')
})

t.test('an upgrade behind two pipelined requests, one of them waiting its turn: both answered, then the tunnel reads', async (t) => {
  const u = await upstream(t)
  const { port } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\nGET /second HTTP/1.1\r\nHost: gw\r\n\r\n' + wsHandshake('/ws', 'ws-third'))
  await waitFor(() => u.seen.length >= 1)
  await settle()
  u.release()
  await waitFor(() => statusLines(c.received()).length === 3)
  t.same(statusLines(c.received()), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 101'])
  t.same(u.seen, ['GET /hold/1', 'GET /second', 'UPGRADE /ws'])
  c.reset()
  c.socket.write('through')
  await waitFor(() => c.received() === 'through')
  t.equal(c.received(), 'through', 'the connection paused while /second waited is read again as a tunnel')
})

t.test('an upgrade pipelined behind a request answered while the gateway drains (Connection: close) is never sent', async (t) => {
  const u = await upstream(t)
  const { port, logs, gw } = await gatewayBefore(t, u)
  gw.gateway.proxy.setPhase('draining')
  const c = rawConnection(t, port)
  c.socket.write('GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\n' + wsHandshake('/ws', 'ws-draining'))
  await waitFor(() => u.seen.length >= 1)
  await settle()
  u.release()
  await c.closed
  t.same(statusLines(c.received()), ['HTTP/1.1 200'], 'the answer, which closes the connection, and nothing else')
  await waitFor(() => logs().some((l) => l.requestId === 'ws-draining'))
  t.equal(logs().find((l) => l.requestId === 'ws-draining')!.status, 499)
  await settle()
  t.same(u.seen, ['GET /hold/1'], 'the handshake never reached the target')
})

t.test('a request waiting between a dying answer and a pipelined upgrade is ended with its connection', async (t) => {
  const u = await upstream(t)
  const { port, logs, gw } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /die/1 HTTP/1.1\r\nHost: gw\r\n\r\nGET /second HTTP/1.1\r\nHost: gw\r\nX-Request-Id: the-second\r\n\r\n' + wsHandshake('/ws', 'ws-behind'))
  await c.closed
  t.notMatch(c.received(), /HTTP\/1\.1 101/, 'no 101')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(gw.gateway.proxy.active, 0, 'nothing left in flight (a shutdown would otherwise wait for it)')
  const second = logs().find((l) => l.requestId === 'the-second')
  t.equal(second?.status, 499, 'the waiting request is logged once, as its client gone')
  t.equal(logs().filter((l) => l.requestId === 'the-second').length, 1)
  t.same(u.seen, ['GET /die/1'])
})

t.test(`an upgrade behind more pipelined requests than are read ahead (${MAX_WAITING + 8}): all answered, then the tunnel reads`, async (t) => {
  const u = await upstream(t)
  const { port } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  let bytes = 'GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\n'
  for (let i = 0; i < MAX_WAITING + 8; i++) bytes += `GET /r${i} HTTP/1.1\r\nHost: gw\r\n\r\n`
  c.socket.write(bytes + wsHandshake('/ws', 'ws-many'))
  await waitFor(() => u.seen.length >= 1)
  await settle()
  u.release()
  await waitFor(() => statusLines(c.received()).length === MAX_WAITING + 10)
  t.equal(statusLines(c.received()).at(-1), 'HTTP/1.1 101')
  c.reset()
  c.socket.write('through')
  await waitFor(() => c.received() === 'through')
  t.equal(c.received(), 'through', 'the connection the gateway stopped reading is read again as a tunnel')
})

t.test(`an upgrade behind more pipelined requests than are read ahead, one of them held: a client that leaves is seen once few wait`, async (t) => {
  // the gateway stopped reading the connection past MAX_WAITING; the upgrade already took it from Node's parser, so
  // only the gateway can restart its read when few enough wait, and a client that leaves is then seen at once
  const u = await upstream(t)
  const { port, gw } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  let bytes = 'GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\n'
  for (let i = 0; i < MAX_WAITING + 8; i++) bytes += `GET /r${i} HTTP/1.1\r\nHost: gw\r\n\r\n`
  c.socket.write(bytes + 'GET /hold/2 HTTP/1.1\r\nHost: gw\r\n\r\n' + wsHandshake('/ws', 'ws-left-late'))
  await waitFor(() => u.seen.length >= 1)
  await settle()
  u.release()
  await waitFor(() => u.seen.includes('GET /hold/2'))
  c.socket.destroy()
  await waitFor(() => gw.gateway.proxy.active === 0, 3000).catch(() => {})
  t.equal(gw.gateway.proxy.active, 0, 'the held request and the waiting handshake ended with the connection')
  t.notOk(u.seen.includes('UPGRADE /ws'), 'the handshake never reached the target')
})

t.test('a large answer pipelined ahead of an upgrade, to a client that pauses reading: sent whole, then the 101', async (t) => {
  const u = await upstream(t)
  const { port, logs } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /big/1 HTTP/1.1\r\nHost: gw\r\nX-Request-Id: the-big\r\n\r\n' + wsHandshake('/ws', 'ws-after-big'))
  c.socket.pause()
  await new Promise((resolve) => setTimeout(resolve, 500))
  c.socket.resume()
  await waitFor(() => statusLines(c.received()).length === 2, 10_000)
  const text = c.received()
  t.same(statusLines(text), ['HTTP/1.1 200', 'HTTP/1.1 101'])
  t.equal(text.indexOf('HTTP/1.1 101') - text.indexOf('\r\n\r\n') - 4, BIG, 'the whole answer came before the 101')
  t.notOk(logs().some((l) => l.requestId === 'the-big' && l.error !== undefined), 'not cut as a stalled client')
})

t.test('an upgrade parsed while Node holds the connection for an answer the client has not taken: the tunnel reads', async (t) => {
  const u = await upstream(t)
  const { port } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  c.socket.write('GET /big/1 HTTP/1.1\r\nHost: gw\r\n\r\n')
  c.socket.pause()
  await new Promise((resolve) => setTimeout(resolve, 500))
  // parsed while the answer to /big waits for the client: Node stops reading the connection for backpressure
  c.socket.write('GET /second HTTP/1.1\r\nHost: gw\r\n\r\n' + wsHandshake('/ws', 'ws-backpressure'))
  await new Promise((resolve) => setTimeout(resolve, 200))
  c.socket.resume()
  await waitFor(() => statusLines(c.received()).length === 3, 10_000)
  t.same(statusLines(c.received()), ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 101'])
  c.reset()
  c.socket.write('through')
  await waitFor(() => c.received() === 'through')
  t.equal(c.received(), 'through', 'the tunnel reads')
})

t.test('a refusal queued between an answer owed and a pipelined upgrade is ended with the connection', async (t) => {
  const u = await upstream(t)
  const { port, logs, gw } = await gatewayBefore(t, u)
  const c = rawConnection(t, port)
  // answered 414 at once, but queued behind /hold/1's answer
  const long = `/${'x'.repeat(9000)}`
  c.socket.write(`GET /hold/1 HTTP/1.1\r\nHost: gw\r\n\r\nGET ${long} HTTP/1.1\r\nHost: gw\r\nX-Request-Id: the-long\r\n\r\n` + wsHandshake('/ws', 'ws-after-refusal'))
  await waitFor(() => u.seen.length >= 1)
  await waitFor(() => gw.gateway.proxy.active === 2)
  c.socket.destroy()
  await waitFor(() => gw.gateway.proxy.active === 0, 3000)
  t.equal(gw.gateway.proxy.active, 0, 'nothing left counted in flight')
  await waitFor(() => logs().some((l) => l.requestId === 'the-long'))
  t.equal(logs().filter((l) => l.requestId === 'the-long').length, 1, 'the refused request is logged once')
})
