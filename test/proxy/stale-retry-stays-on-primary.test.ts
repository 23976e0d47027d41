// A healthy primary's kept-alive connections that died while idle (a NAT's or load balancer's idle expiry: the next
// request on one is reset before any byte of an answer) are no failure of the primary's. Before, the stale try was
// counted among the targets the request had failed on, so the pick after it found "every primary failed" and sent
// the request, and a WebSocket handshake likewise, to the standby (backup: true) with the primary healthy, silently
// (no tier switch). Now the try after a stale connection goes back to the same target on a new connection.
import t from 'tap'
import { expiringUpstream, get } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawHandshake } from './raw.ts'
import { gateway, type Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

async function primaryAndStandby (t: Tap) {
  const a = await expiringUpstream(t, { name: 'primary' })
  const b = await expiringUpstream(t, { name: 'standby' })
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, { url: b.url, backup: true }], retry: { backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  /** A few requests at once: the primary keeps kept-alive connections, idle once they are answered. */
  const warm = async (round: string): Promise<void> => {
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => get(`${gw.url}/warm-${round}-${i}`)))
    t.strictSame(answers.map((r) => r.upstream), Array(4).fill('primary'), `warm-up ${round}: the primary serves`)
  }
  return { a, b, gw, warm }
}

t.test('a GET that meets a dead kept-alive connection of a healthy primary is answered by the primary', async (t) => {
  const { a, b, gw, warm } = await primaryAndStandby(t)
  await warm('1')
  a.expire()
  const res = await get(`${gw.url}/after`)
  t.equal(res.status, 200)
  t.equal(res.upstream, 'primary', 'the primary answered, not the standby')
  t.equal(b.paths.length, 0, 'the standby was sent nothing')
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/after'))
  t.match(gw.accessLogs().find((l) => l.path === '/after'), { status: 200, attempts: 2, targets: [a.url, a.url] }, 'two tries, both to the primary')
  t.equal(gw.gateway.status().pools.p!.activeTier, 'primary', 'no switch to the standby tier')
})

t.test('a WebSocket handshake that meets a dead kept-alive connection of a healthy primary goes to the primary', async (t) => {
  const { a, b, gw, warm } = await primaryAndStandby(t)
  await warm('1')
  a.expire()
  const { response, socket } = await rawHandshake(portOf(gw.url), wsHandshake('/ws', 'stale-primary-ws'))
  t.teardown(() => socket.destroy())
  t.equal(response.status, 101, 'switched')
  t.ok(a.paths.includes('/ws'), 'the primary switched it')
  t.notOk(b.paths.includes('/ws'), 'the standby was never sent the handshake')
  socket.destroy()
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/ws'))
  t.match(gw.accessLogs().find((l) => l.path === '/ws'), { upgrade: true, status: 101, attempts: 2, target: a.url })
})
