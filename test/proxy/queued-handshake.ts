// A raw WebSocket handshake for tests that must watch the gateway's answer byte by byte (sendHandshake), and a gateway
// whose only target connection (maxPerTarget 1) is held by an upload that never ends, with a raw client connection
// ready to send a handshake that must wait for it (saturatedTarget). The manual clock drives requestMs.
import { ManualClock } from '../helpers/clock.ts'
import { rawConnection, type RawConnection } from '../helpers/raw-connection.ts'
import { gateway, holdOnlyConnection, upstream, type Tap } from './setup.ts'

export const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

/** A raw connection to the gateway at `url` that has sent HANDSHAKE (for /ws, Host chat.example). */
export async function sendHandshake (t: Tap, url: string): Promise<RawConnection> {
  const client = rawConnection(t, Number(new URL(url).port))
  await client.connected
  client.socket.write(HANDSHAKE)
  return client
}

export async function saturatedTarget (t: Tap) {
  const u = await upstream(t, 'u')
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], connections: { maxPerTarget: 1 }, retry: { attempts: 1, maxBufferBytes: 16 }, timeouts: { requestMs: 500 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  let seen = 0 // requests and upgrades the upstream starts to receive
  u.server.on('request', () => { seen++ })
  u.server.on('upgrade', () => { seen++ })
  const holder = await holdOnlyConnection(t, gw.url, target, () => seen === 1)
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  return { gw, clock, target, holder, client, seen: () => seen }
}
