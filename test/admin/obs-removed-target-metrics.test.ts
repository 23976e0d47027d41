// A target a reload removed while a WebSocket tunnel to it is open is listed in /status (draining, inFlight 1) until
// the tunnel closes; /metrics left it out (no target_up, no target_in_flight), so the two disagreed and the in-flight
// gauges did not add up to what the gateway carries. It is exported as down, with what it still carries.
import { connect } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('a removed target still carrying a tunnel: target_up 0 and its in-flight tunnel, as /status has it', async (t) => {
  const [u1, u2] = await Promise.all([TestUpstream.start({ name: 'u1' }), TestUpstream.start({ name: 'u2' })])
  const config = (targets: string[]): GatewayConfig => ({ pools: { p: { targets } }, routes: [{ path: '/', pool: 'p' }] })
  let next = config([u1.url, u2.url])
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  const ws = connect(Number(new URL(gw.url).port), '127.0.0.1')
  ws.on('error', () => {})
  t.teardown(async () => { ws.destroy(); await gw.close(); await u1.close(); await u2.close() })
  ws.write('GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n')
  // the 101 reached the client: the tunnel is open and counted
  await new Promise((resolve) => ws.once('data', resolve))
  const tunnelled = u1.tunnels.size > 0 ? u1 : u2
  next = config([(tunnelled === u1 ? u2 : u1).url])
  t.equal((await gw.gateway.reload('admin')).result, 'success')

  const id = `127.0.0.1:${tunnelled.port}`
  t.match(gw.gateway.status().pools.p!.targets.find((x) => x.id === id), { state: 'draining', inFlight: 1, tunnels: 1 }, '/status lists it')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_target_up', { pool: 'p', target: id })], 0, 'target_up: down')
  t.equal(series[key('switchyard_target_in_flight', { pool: 'p', target: id })], 1, 'target_in_flight: its tunnel')

  ws.destroy()
  await waitFor(() => gw.gateway.status().pools.p!.targets.every((x) => x.id !== id))
  const after = seriesOf(await gw.gateway.metrics!.render())
  t.equal(after[key('switchyard_target_up', { pool: 'p', target: id })], undefined, 'gone from /metrics once /status drops it')
})
