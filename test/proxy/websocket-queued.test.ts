// A WebSocket handshake that waits for a connection of a saturated target (all maxPerTarget busy) is answered
// 503 upstream_busy at the pool's requestMs, as a plain request is, instead of waiting as long as the
// connections stay busy; it leaves the target's queue then, so it never reaches the upstream.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, holdOnlyConnection, upstream } from './setup.ts'

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

t.test('a handshake queued for a connection past requestMs is 503 upstream_busy and never reaches the upstream', async (t) => {
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
  client.socket.write(HANDSHAKE)
  await waitFor(() => target.queued === 1)
  clock.advance(499)
  t.equal(client.received(), '', 'nothing before requestMs')
  clock.advance(1)
  await client.closed
  t.match(client.received(), /^HTTP\/1\.1 503 /)
  t.match(client.received(), /"error":"upstream_busy"/)
  t.equal(gw.accessLogs().at(-1)?.error, 'upstream_busy')
  t.equal(target.queued, 0, 'out of the queue at its deadline')
  t.equal(target.client.queued, 0)

  holder.release()
  await waitFor(() => target.queued === 0 && target.inFlight === 0)
  t.equal(seen, 1, 'the handshake never reached the upstream')
  t.equal(target.failures, 0, 'nor counted against it')
})
