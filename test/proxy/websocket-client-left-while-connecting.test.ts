// A client that leaves while the connection for its WebSocket handshake is still being opened (not withdrawable from
// the queue then) is not followed by the handshake: when the connection opens, undici's start of it is aborted and
// the upstream never hears of it (one 499 line). Without the check, the target would be sent a handshake for a client
// already gone, and answer it with a 101 and a WebSocket session nobody uses.
import { createServer as createHttpsServer } from 'node:https'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway } from './setup.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const leaf = certs.leaf('ip', ca, 'IP:127.0.0.1')

t.test('the client leaves while its connection opens: aborted at the start, never sent upstream, 499', async (t) => {
  // a TLS upstream that answers every handshake 101, behind a front that holds each TCP connection until released:
  // its TLS handshake (part of opening undici's connection) waits till then
  let upgrades = 0
  const https = createHttpsServer({ key: leaf.key, cert: leaf.cert })
  https.on('upgrade', (_req, socket: Socket) => {
    upgrades++
    socket.on('error', () => {})
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  })
  const held: Socket[] = []
  const front = createServer((socket) => {
    socket.on('error', () => {})
    held.push(socket)
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of held) s.destroy()
    https.close()
    return new Promise<void>((resolve) => front.close(() => resolve()))
  })
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [`https://127.0.0.1:${(front.address() as AddressInfo).port}`],
        tls: { ca: ca.cert },
        retry: { attempts: 1 },
        timeouts: { connectMs: 10_000, requestMs: 10_000 },
        outlier: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock: new ManualClock(), defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const connections = (): Promise<number> => new Promise((resolve, reject) => {
    gw.gateway.app.server.getConnections((err, n) => err ? reject(err) : resolve(n))
  })
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => held.length === 1 && target.queued === 1)
  t.equal(target.client.queued, 0, 'not waiting in the queue: its connection is being opened')
  client.socket.resetAndDestroy()
  await waitFor(async () => (await connections()) === 0) // the gateway has seen its client close
  https.emit('connection', held[0]) // the TLS handshake goes through: the connection opens
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  await waitFor(() => target.inFlight === 0)
  t.match(gw.accessLogs().filter((l) => l.upgrade === true), [{ status: 499, aborted: true }])
  t.equal(upgrades, 0, 'the upstream never got the handshake')
})
