// A healthy primary's kept-alive connections that died while idle (a NAT's or load balancer's idle expiry: the next
// request on one is reset before any byte of an answer) are no failure of the primary's. Before, the stale try was
// counted among the targets the request had failed on, so the pick after it found "every primary failed" and sent
// the request, and a WebSocket handshake likewise, to the standby (backup: true) with the primary healthy, silently
// (no tier switch). Now the try after a stale connection goes back to the same target on a new connection.
import { once } from 'node:events'
import { request } from 'node:http'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawHandshake } from './raw.ts'
import { gateway, type Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

interface ExpiringUpstream {
  name: string
  url: string
  /** Request lines' paths it read and answered (or switched). */
  paths: string[]
  /** Connections open now reset on their next byte, as after an idle expiry; new ones work. */
  expire (): void
}

/** A raw HTTP/1.1 upstream answering 200 with its name (x-upstream), or 101 to a WebSocket handshake. */
async function expiringUpstream (t: Tap, name: string): Promise<ExpiringUpstream> {
  let epoch = 0
  const sockets = new Set<Socket>()
  const up: ExpiringUpstream = { name, url: '', paths: [], expire: () => { epoch++ } }
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const born = epoch
    let buffered = ''
    socket.on('data', (chunk: Buffer) => {
      if (born !== epoch) return socket.resetAndDestroy()
      buffered += chunk.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        buffered = buffered.slice(end + 4)
        up.paths.push(head.split(' ')[1]!)
        if (/^upgrade: websocket$/im.test(head)) return socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
        socket.write(`HTTP/1.1 200 OK\r\nx-upstream: ${name}\r\ncontent-length: ${name.length}\r\n\r\n${name}`)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return up
}

function get (url: string): Promise<{ status: number; upstream: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: res.headers['x-upstream'] as string | undefined }))
    }).on('error', reject).end()
  })
}

async function primaryAndStandby (t: Tap) {
  const a = await expiringUpstream(t, 'primary')
  const b = await expiringUpstream(t, 'standby')
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
