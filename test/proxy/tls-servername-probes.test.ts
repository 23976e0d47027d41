// A target given by name with the pool's tls.servername set (a certificate naming a service name, not the host the
// target is reached by): health probes verify and send that name as requests do. Probes sent the target's host as
// their TLS name (undici names a request by its Host when its connector does not name it): every probe failed, the
// target was marked unhealthy and every request got 503, while the same pool without health checks served 200.
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from './setup.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const forServiceName = certs.leaf('service', ca, 'DNS:api.internal')

t.test('probes of a target reached as localhost verify and send tls.servername', async (t) => {
  const secure = await upstream(t, 'secure', { tls: forServiceName })
  const offered: (string | false | null)[] = []
  secure.server.on('secureConnection', (socket: TLSSocket) => offered.push(socket.servername))
  const gw = await gateway(t, {
    pools: {
      s: {
        targets: [`https://localhost:${secure.port}`],
        tls: { ca: ca.cert, servername: 'api.internal' },
        healthCheck: { path: '/health', intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 1 },
      },
    },
    routes: [{ path: '/', pool: 's' }],
  })
  const pool = gw.gateway.pools().get('s')!
  const target = pool.pool.targets[0]!
  await waitFor(() => pool.health?.lastResult(target) !== undefined)
  t.equal(pool.health?.lastResult(target)?.ok, true, 'the probe passed')
  t.equal(pool.pool.status(target).healthy, true)
  const res = await fetch(`${gw.url}/x`)
  await res.arrayBuffer()
  t.equal(res.status, 200)
  t.ok(offered.length >= 2, 'a probe connection and a traffic connection')
  t.ok(offered.every((name) => name === 'api.internal'), `every connection named api.internal (${JSON.stringify(offered)})`)
})
