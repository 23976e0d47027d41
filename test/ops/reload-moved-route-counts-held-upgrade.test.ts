// A WebSocket handshake in flight when a reload moves its route to another pool is counted, as a request is, under the
// (route, old pool) series it began on: its 101 is counted when written, and the old pair's series go at the render
// after the one that showed it, though the tunnel stays open (a tunnel is counted at its 101, not when it closes).
import { createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawHandshake } from '../proxy/raw.ts'
import { wsHandshake } from '../proxy/ws-tunnel.ts'
import { startReloadable } from './moved-route-fixture.ts'

t.test('a handshake held at the old pool across the reload is counted in the old pair\'s series, which then go', async (t) => {
  // blue holds each handshake until the test answers it
  const held: { socket: Socket; key: string }[] = []
  const blue = await serveOnLoopback(t, (_req, res) => res.writeHead(404).end())
  blue.server.on('upgrade', (req, socket: Socket) => {
    socket.on('error', () => {})
    t.teardown(() => socket.destroy())
    held.push({ socket, key: String(req.headers['sec-websocket-key']) })
  })
  const green = await TestUpstream.start({ name: 'green' })
  t.teardown(() => green.close())
  const config = (pool: string): GatewayConfig => ({
    pools: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
    routes: [{ name: 'ws', path: '/ws', pool }],
  })
  const { gw, reloadTo } = await startReloadable(t, config, 'blue')
  const pair = async (): Promise<string[]> => (await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => l.startsWith('switchyard_request') && !l.includes('_bucket') && l.includes('route="ws"') && l.includes('pool="blue"'))

  const handshake = rawHandshake(portOf(gw.url), wsHandshake('/ws/chat', 'held-upgrade'))
  await waitFor(() => held.length === 1)
  t.equal((await reloadTo('green')).result, 'success')
  t.strictSame(await pair(), [], 'nothing counted yet (a histogram and a counter show from their first count)')
  const { socket, key } = held[0]!
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC11B5B').digest('base64')
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`)
  const { response, socket: client } = await handshake
  t.teardown(() => client.destroy())
  t.equal(response.status, 101)
  const shown = await pair()
  t.ok(shown.includes('switchyard_requests_total{route="ws",pool="blue",method="GET",code="101"} 1'), 'its 101 is counted under the old pair')
  t.ok(shown.includes('switchyard_request_duration_seconds_count{route="ws",pool="blue"} 1'), 'and its handshake time')
  t.strictSame(await pair(), [], 'gone at the next render, the tunnel still open')
  t.equal(client.destroyed, false)
})
