// RFC 9110 §7.8: "If a server receives both an Upgrade and an Expect header field with the 100-continue expectation
// (Section 10.1.1), the server MUST send a 100 (Continue) response before sending a 101 (Switching Protocols)
// response." The gateway holds Expect back from the target (it answers expectations itself), so no target ever sends
// that 100: the client got the 101 alone (review r42b). The gateway writes the 100 itself, just before the 101; a
// target that declines the upgrade gives a final answer, which needs none.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { TestUpstream } from '../helpers/upstream.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'

t.test('an upgrade that expects 100-continue gets a 100 before its 101', async (t) => {
  const ws = await TestUpstream.start({ name: 'ws' })
  t.teardown(() => ws.close())
  const gw = await gateway(t, { pools: { p: { targets: [ws.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write(`${HANDSHAKE}Expect: 100-continue\r\n\r\n`)
  await waitFor(() => c.received().includes('\r\n\r\nHTTP/1.1 101') || /^HTTP\/1\.1 101[^]*\r\n\r\n/.test(c.received()))
  t.match(c.received(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 101 Switching Protocols\r\n/, 'the 100, then the 101')
  t.equal(ws.requests[0]?.headers.expect, undefined, 'Expect is not passed on (the gateway answers it)')
})

t.test('an upgrade without the expectation gets the 101 alone', async (t) => {
  const ws = await TestUpstream.start({ name: 'ws' })
  t.teardown(() => ws.close())
  const gw = await gateway(t, { pools: { p: { targets: [ws.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write(`${HANDSHAKE}\r\n`)
  await waitFor(() => c.received().includes('\r\n\r\n'))
  t.match(c.received(), /^HTTP\/1\.1 101 Switching Protocols\r\n/)
})

t.test('a declined upgrade that expected 100-continue gets the final answer alone', async (t) => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const gw = await gateway(t, { pools: { p: { targets: [`http://127.0.0.1:${(server.address() as { port: number }).port}`], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write(`${HANDSHAKE}Expect: 100-continue\r\n\r\n`)
  await c.closed
  t.match(c.received(), /^HTTP\/1\.1 403 Forbidden\r\n[^]*\r\n\r\nno$/, 'no 100: a final answer needs none')
})
