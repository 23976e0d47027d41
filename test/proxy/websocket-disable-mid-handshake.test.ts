// A target disabled while a WebSocket handshake to it waits for its 101: disable takes a target out at once and
// closes the tunnels open to it (README), and this one would open after the disable closed the others. The 101 is
// not passed on: the upstream's side is closed and the client is refused 503 no_available_target (Retry-After: 1),
// as an upgrade with no target is; the target answered, so it is no failure of its. A target a reload removed
// meanwhile drains, and drain leaves tunnels open: that handshake becomes a tunnel.
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { portOf, rawHandshake } from './raw.ts'
import { upstream, type Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

/** An upstream that holds each upgrade until the test answers it 101, then echoes. */
async function heldUpgrades (t: Tap): Promise<{ url: string; held: Socket[]; answer (): void }> {
  const held: Socket[] = []
  const waiting: (() => void)[] = []
  const server = createServer((_req, res) => { res.end() })
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => {})
    held.push(socket)
    waiting.push(() => {
      const accept = createHash('sha1').update(String(req.headers['sec-websocket-key']) + '258EAFA5-E914-47DA-95CA-C5AB0DC11B5B').digest('base64')
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`)
      socket.pipe(socket)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of held) s.destroy()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, held, answer: () => { for (const a of waiting.splice(0)) a() } }
}

interface Setup {
  gw: TestGateway
  held: Socket[]
  answer (): void
  url: string
  reload (config: GatewayConfig): Promise<void>
  disable (): void
}

const config = (url: string, change: Partial<GatewayConfig['pools'][string]> = {}): GatewayConfig => ({ pools: { p: { targets: [url], ...change } }, routes: [{ path: '/', pool: 'p' }] })

async function setup (t: Tap): Promise<Setup> {
  const up = await heldUpgrades(t)
  let next = config(up.url)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(() => gw.close())
  return {
    gw, ...up,
    async reload (c) {
      next = c
      t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
    },
    // the admin API's disable: the running pool's copy of the target, by id
    disable () {
      const pool = gw.gateway.pools().get('p')!.pool
      pool.setStatus(pool.targets.find((x) => x.url === up.url)!, { disabled: true })
    },
  }
}

function upgradeLine (gw: TestGateway): Record<string, unknown> | undefined {
  return gw.accessLogs().find((l) => l.upgrade === true)
}

async function refusedOnceAnswered (t: Tap, s: Setup, handshake: ReturnType<typeof rawHandshake>): Promise<void> {
  s.answer()
  const { response, socket } = await handshake
  t.teardown(() => socket.destroy())
  t.equal(response.status, 503, 'the 101 is not passed on')
  t.equal(response.headers['retry-after'], '1')
  await waitFor(() => s.held[0]!.destroyed)
  t.pass('the upstream\'s side is closed')
  await waitFor(() => upgradeLine(s.gw) !== undefined)
  t.match(upgradeLine(s.gw), { status: 503, error: 'no_available_target', attempts: 1, target: s.url })
  const target = s.gw.gateway.status().pools.p!.targets.find((x) => x.url === s.url)
  t.match(target, { state: 'disabled', inFlight: 0, tunnels: 0 }, 'released, no tunnel left')
  t.equal(s.gw.gateway.pools().get('p')!.pool.targets[0]!.failures, 0, 'no failure of the target\'s')
}

t.test('a target disabled while its handshake waits for the 101: 503 no_available_target, both sides closed', async (t) => {
  const s = await setup(t)
  const handshake = rawHandshake(portOf(s.gw.url), wsHandshake('/ws', 'disabled-meanwhile'))
  await waitFor(() => s.held.length === 1)
  s.disable()
  await refusedOnceAnswered(t, s, handshake)
})

t.test('disabled in the pool a reload rebuilt while the handshake was out: refused as well', async (t) => {
  const s = await setup(t)
  const handshake = rawHandshake(portOf(s.gw.url), wsHandshake('/ws', 'disabled-after-rebuild'))
  await waitFor(() => s.held.length === 1)
  const before = s.gw.gateway.pools().get('p')
  await s.reload(config(s.url, { preserveHost: false }))
  t.not(s.gw.gateway.pools().get('p'), before, 'the pool was rebuilt')
  s.disable()
  await refusedOnceAnswered(t, s, handshake)
})

t.test('a target a reload removed while the handshake was out drains: the tunnel opens', async (t) => {
  const s = await setup(t)
  const other = await upstream(t, 'other')
  const handshake = rawHandshake(portOf(s.gw.url), wsHandshake('/ws', 'removed-meanwhile'))
  await waitFor(() => s.held.length === 1)
  await s.reload(config(other.url))
  s.answer()
  const { response, socket } = await handshake
  t.teardown(() => socket.destroy())
  t.equal(response.status, 101)
  socket.destroy()
  await waitFor(() => upgradeLine(s.gw) !== undefined)
  t.match(upgradeLine(s.gw), { status: 101, target: s.url })
})
