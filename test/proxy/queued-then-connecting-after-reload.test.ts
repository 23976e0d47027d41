// upstream_busy (503, counted against nobody) says the request waited for one of the target's connections and the
// upstream never heard of it. A request that queued behind the target's only busy connection, and that a reload
// raising connections.maxPerTarget then handed to a new connection, no longer waits for a connection: the upstream
// is being connected to for it. When that connection never gets through its TLS handshake and the deadline runs
// out, the target was slow to accept: 504 upstream_timeout, as the same request gets when it opens the connection
// itself, not upstream_busy. (src/proxy/attempt.ts, #poolFull: busy only while still in the target's queue.)
import { request } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { CertificateMaker } from '../helpers/certificates.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const leaf = certs.leaf('ip', ca, 'IP:127.0.0.1')

function get (url: string): Promise<{ status: number; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => {
        resolve({ status: res.statusCode!, error: res.statusCode! >= 400 ? (JSON.parse(body) as { error: string }).error : undefined })
      })
    }).on('error', reject).end()
  })
}

t.test('a queued request a reload hands to a new connection that never opens is upstream_timeout, not upstream_busy', async (t) => {
  // the first TCP connection gets a working TLS server, which holds /hold until released; every later one is
  // accepted and never answered (its TLS handshake never ends)
  let release: (() => void) | undefined
  let holding = false
  const https = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
    if (req.url !== '/hold') return res.end('ok')
    holding = true
    release = () => res.end('held')
  })
  const stalled = new Set<Socket>()
  let accepted = 0
  const front = createServer((socket) => {
    socket.on('error', () => {})
    if (accepted++ === 0) https.emit('connection', socket)
    else stalled.add(socket)
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    release?.()
    for (const s of stalled) s.destroy()
    https.close()
    return new Promise<void>((resolve) => front.close(() => resolve()))
  })

  const config = (maxPerTarget: number): GatewayConfig => ({
    pools: {
      p: {
        targets: [`https://127.0.0.1:${(front.address() as AddressInfo).port}`],
        tls: { ca: ca.cert },
        connections: { maxPerTarget },
        retry: { attempts: 1 },
        timeouts: { connectMs: 10_000, requestMs: 700 },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config(1)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())

  // /hold takes the only connection; /queued waits behind it
  const held = get(`${gw.url}/hold`)
  await waitFor(() => holding)
  const queued = get(`${gw.url}/queued`)
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  await waitFor(() => target.client.queued === 1)

  // a second connection is allowed: /queued goes to it at once, and its handshake never ends
  next = config(2)
  t.equal((await gw.gateway.reload()).result, 'success')
  await waitFor(() => stalled.size === 1)
  t.equal(target.client.queued, 0, 'no longer waiting for a connection')

  t.strictSame(await queued, { status: 504, error: 'upstream_timeout' }, 'the target was slow to accept it, not busy')
  t.equal(gw.accessLogs().find((l) => l.path === '/queued')?.error, 'upstream_timeout')
  // (/hold, past the same deadline, has its own answer; the stalled connection goes before the gateway closes)
  await held
  for (const s of stalled) s.destroy()
})
