// A target a reload removed, with a WebSocket tunnel still open, stays listed in /status as draining: the target
// actions find it too, and disable closes its tunnel (then it is gone). It stays draining whatever the action.
import { connect } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]
interface TargetView { id: string; state: string; tunnels: number }

async function withRemovedTunnelledTarget (t: Tap) {
  const [u1, u2] = await Promise.all([TestUpstream.start({ name: 'u1' }), TestUpstream.start({ name: 'u2' })])
  const config = (targets: string[]): GatewayConfig => ({ pools: { p: { targets } }, routes: [{ path: '/', pool: 'p' }] })
  let next = config([u1.url, u2.url])
  const gw = await startGateway(next, { defaultMetrics: false, env: {}, load: async () => validateConfig(next), random: () => 0 })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const ws = connect(Number(new URL(gw.url).port), '127.0.0.1')
  ws.on('error', () => {})
  t.teardown(async () => { ws.destroy(); await gw.close(); await u1.close(); await u2.close() })
  ws.write('GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n')
  await new Promise((resolve) => ws.once('data', resolve))
  const tunnelled = u1.tunnels.size > 0 ? u1 : u2
  next = config([(tunnelled === u1 ? u2 : u1).url])
  t.equal((await fetch(`${admin}/reload`, { method: 'POST' })).status, 200)
  const targets = async (): Promise<TargetView[]> => (await (await fetch(`${admin}/status`)).json() as { pools: { p: { targets: TargetView[] } } }).pools.p.targets
  const id = `127.0.0.1:${tunnelled.port}`
  t.match((await targets()).find((x) => x.id === id), { state: 'draining', tunnels: 1 }, 'listed as draining with its tunnel')
  return { admin, id, tunnelled, targets, action: (name: string, as = id) => fetch(`${admin}/pools/p/targets/${encodeURIComponent(as)}/${name}`, { method: 'POST' }) }
}

t.test('disable closes the tunnel of a target a reload removed', async (t) => {
  const { id, tunnelled, targets, action } = await withRemovedTunnelledTarget(t)
  const res = await action('disable')
  t.equal(res.status, 200)
  t.match(await res.json(), { pool: 'p', target: { id } })
  await waitFor(() => tunnelled.tunnels.size === 0, 3000)
  t.pass('the upstream tunnel closed')
  await waitFor(async () => (await targets()).every((x) => x.id !== id), 3000)
  t.pass('no longer listed once idle')
})

t.test('drain and enable find it too, and it stays draining (it still goes once idle)', async (t) => {
  const { id, targets, action } = await withRemovedTunnelledTarget(t)
  for (const name of ['drain', 'enable']) {
    const res = await action(name)
    t.equal(res.status, 200, name)
    t.match(await res.json(), { target: { id, state: 'draining' } }, name)
  }
  t.match((await targets()).find((x) => x.id === id), { state: 'draining', tunnels: 1 })
})

// Named by its URL (as /status lists it), a removed target is found among the retiring ones by an exact match: its
// host:port happens to name it by the bare-host rule too, its URL does not. Without the exact lookup among the
// retiring targets the operator could not drain or disable it by the URL /status shows (404 unknown_target).
t.test('named by its URL, a target a reload removed is found too', async (t) => {
  const { id, tunnelled, targets, action } = await withRemovedTunnelledTarget(t)
  const res = await action('drain', tunnelled.url)
  t.equal(res.status, 200)
  t.match(await res.json(), { pool: 'p', target: { id, url: tunnelled.url, state: 'draining' } })
  const disabled = await action('disable', tunnelled.url)
  t.equal(disabled.status, 200)
  await waitFor(() => tunnelled.tunnels.size === 0, 3000)
  t.pass('disable by URL closed its tunnel')
  await waitFor(async () => (await targets()).every((x) => x.id !== id), 3000)
  t.pass('no longer listed once idle')
})
