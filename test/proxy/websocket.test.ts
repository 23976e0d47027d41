// WebSocket upgrades are routed like any request, answered with the target's 101 and then tunnelled
// byte for byte. The test upstream echoes every byte it receives after its handshake.
import { createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import t from 'tap'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import type { ErrorBody } from './http.ts'
import { portOf, rawHandshake, rawRequest, readBytes } from './raw.ts'
import { gateway, refusedUrl, upstream } from './setup.ts'

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
const ACCEPT = createHash('sha1').update(KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC11B5B').digest('base64')

const handshake = (path: string, extra: string[] = []): string => [
  `GET ${path} HTTP/1.1`,
  'Host: chat.example',
  'Connection: Upgrade',
  'Upgrade: websocket',
  `Sec-WebSocket-Key: ${KEY}`,
  'Sec-WebSocket-Version: 13',
  ...extra,
  '', '',
].join('\r\n')

function inFlight (gw: TestGateway, pool: string): number {
  return gw.gateway.pools().get(pool)!.pool.targets.reduce((n, target) => n + target.inFlight, 0)
}

t.test('an upgrade is answered with the target 101 and bytes are tunnelled both ways', async (t) => {
  const ws = await upstream(t, 'ws')
  const gw = await gateway(t, { pools: { ws: { targets: [ws.url] } }, routes: [{ path: '/ws', pool: 'ws' }] })

  const { response, socket, rest } = await rawHandshake(portOf(gw.url), handshake('/ws/x?room=1', ['X-Request-Id: ws-1']))
  t.teardown(() => socket.destroy())
  t.equal(response.status, 101)
  t.equal(response.headers['sec-websocket-accept'], ACCEPT, "the target's Sec-WebSocket-Accept is passed on")
  t.match(response.headers.upgrade ?? '', /websocket/i)
  t.match(response.headers.connection ?? '', /upgrade/i)
  t.equal(response.headers['x-upstream'], 'ws', 'the 101 comes from the target')

  const seen = ws.requests[0]!
  t.equal(seen.url, '/ws/x?room=1', 'the target sees the path and query')
  t.equal(seen.headers['sec-websocket-key'], KEY)
  t.equal(seen.headers['sec-websocket-version'], '13')
  t.match(String(seen.headers.upgrade), /websocket/i)
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(seen.headers['x-request-id'], 'ws-1')

  const message = Buffer.from('hello through the tunnel \u00e9\u0000\u00ff', 'utf8')
  socket.write(message)
  t.same(await readBytes(socket, rest.length + message.length, rest), message, 'bytes written after the handshake come back')
  const big = Buffer.alloc(256 * 1024, 7)
  socket.write(big)
  t.equal((await readBytes(socket, big.length)).length, big.length, 'a larger burst is echoed whole')
  t.equal(inFlight(gw, 'ws'), 1, 'the tunnel counts as in flight')

  socket.destroy()
  await waitFor(() => inFlight(gw, 'ws') === 0)
  t.equal(inFlight(gw, 'ws'), 0, 'closing the client side releases the target')
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'ws-1'))
  const line = gw.accessLogs().find((l) => l.requestId === 'ws-1')!
  t.equal(line.status, 101)
  t.equal(line.pool, 'ws')
})

t.test('bytes sent together with the handshake reach the target', async (t) => {
  const ws = await upstream(t, 'ws')
  const gw = await gateway(t, { pools: { ws: { targets: [ws.url] } }, routes: [{ path: '/ws', pool: 'ws' }] })
  const early = Buffer.from('early bytes')
  const { response, socket, rest } = await rawHandshake(portOf(gw.url), Buffer.concat([Buffer.from(handshake('/ws')), early]))
  t.teardown(() => socket.destroy())
  t.equal(response.status, 101)
  t.same(await readBytes(socket, early.length, rest), early, 'early bytes are echoed back')
})

t.test('an upgrade for an unknown route is refused with 404 JSON', async (t) => {
  const ws = await upstream(t, 'ws')
  const gw = await gateway(t, { pools: { ws: { targets: [ws.url] } }, routes: [{ path: '/ws', pool: 'ws' }] })
  const res = await rawRequest(portOf(gw.url), handshake('/nowhere'))
  t.equal(res.status, 404)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json<ErrorBody>()
  t.equal(body.error, 'no_route')
  t.equal(body.requestId, res.headers['x-request-id'])
  t.equal(ws.hits, 0)

  const bad = await rawRequest(portOf(gw.url), handshake('/ws/%2e%2e/admin'))
  t.equal(bad.status, 400)
  t.equal(bad.json<ErrorBody>().error, 'bad_path')
})

t.test('an upgrade whose target refuses connections gets 502', async (t) => {
  const gone = await refusedUrl()
  const gw = await gateway(t, { pools: { ws: { targets: [gone] } }, routes: [{ path: '/ws', pool: 'ws' }] })
  const res = await rawRequest(portOf(gw.url), handshake('/ws/x'))
  t.equal(res.status, 502)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json<ErrorBody>()
  t.equal(body.error, 'upstream_unreachable')
  t.equal(body.requestId, res.headers['x-request-id'])
  t.equal(inFlight(gw, 'ws'), 0)
})

t.test("a target's refusal to switch protocols reaches the client as it was sent", async (t) => {
  const plain = await upstream(t, 'plain')
  // the test upstream upgrades everything; a target that refuses the upgrade answers a plain response
  plain.server.removeAllListeners('upgrade')
  plain.server.on('upgrade', (_req, socket: Socket) => {
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno')
  })
  const gw = await gateway(t, { pools: { ws: { targets: [plain.url] } }, routes: [{ path: '/ws', pool: 'ws' }] })
  const res = await rawRequest(portOf(gw.url), handshake('/ws/x'))
  t.equal(res.status, 400, "the target's own status")
  t.equal(res.body.toString(), 'no', "and body")
  t.ok(res.headers['x-request-id'])
  await waitFor(() => inFlight(gw, 'ws') === 0)
  t.equal(inFlight(gw, 'ws'), 0)
})
