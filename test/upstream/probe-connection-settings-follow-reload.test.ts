// A target's copies share one health-probe connection only while they are made with the same connection settings
// (src/upstream/target.ts, SharedTarget.probeFor: the probe key). A reload that changes what a probe connection is
// made with (the most response-head bytes read, certificate verification, the address a certificate must name) gives
// the rebuilt pool's probes a client made with the new settings: a target its probes failed under the old ones is
// healthy under the new. Shared regardless of one of them, the probes would go on with the old client and the target
// would stay unhealthy, every request 503, while its traffic (made with the new settings) would be served.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { CertificateMaker } from '../helpers/certificates.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('probe-ca')

const healthCheck = { path: '/health', intervalMs: 200, timeoutMs: 150, healthyThreshold: 1, unhealthyThreshold: 1 }

/** A gateway on `before` whose target its probes fail; reloaded to `after`: the target is healthy again. */
async function healthyAfterReload (t: Tap, before: GatewayConfig, after: GatewayConfig): Promise<void> {
  let next = before
  const gw = await startGateway(before, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const state = (): string | undefined => gw.gateway.status().pools.p?.targets[0]?.state
  await waitFor(() => state() === 'unhealthy')
  t.pass('unhealthy under the first settings')
  const replaced = gw.gateway.pools().get('p')
  next = after
  t.equal((await gw.gateway.reload()).result, 'success')
  t.not(gw.gateway.pools().get('p'), replaced, 'the pool was rebuilt')
  await waitFor(() => state() === 'healthy', 3000)
  t.pass('healthy under the new settings')
  const res = await fetch(`${gw.url}/x`)
  await res.arrayBuffer()
  t.equal(res.status, 200)
}

t.test('maxResponseHeaderBytes raised: probes read the larger head', async (t) => {
  const u = await TestUpstream.start({ name: 'big-head' })
  t.teardown(() => u.close())
  // a 3,000-byte header on every health answer: over 1 KiB, under 8 KiB
  u.healthHeaders = { 'x-padding': 'p'.repeat(3000) }
  const config = (maxResponseHeaderBytes: number): GatewayConfig => ({
    pools: { p: { targets: [u.url], healthCheck, maxResponseHeaderBytes } },
    routes: [{ path: '/', pool: 'p' }],
  })
  await healthyAfterReload(t, config(1024), config(8192))
})

t.test('certificate verification turned off: probes connect unverified', async (t) => {
  const u = await TestUpstream.start({ name: 'self-signed', tls: certs.selfSigned('self', 'IP:127.0.0.1') })
  t.teardown(() => u.close())
  const config = (rejectUnauthorized: boolean): GatewayConfig => ({
    pools: { p: { targets: [u.url], healthCheck, tls: { rejectUnauthorized } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  await healthyAfterReload(t, config(true), config(false))
})

t.test('tls.servername changed from one address to another: probes check the certificate against the new one', async (t) => {
  const u = await TestUpstream.start({ name: 'ip-cert', tls: certs.leaf('ip', ca, 'IP:127.0.0.1') })
  t.teardown(() => u.close())
  // an address as tls.servername is checked against, not sent: the connection settings differ only in that address
  const config = (servername: string): GatewayConfig => ({
    pools: { p: { targets: [u.url], healthCheck, tls: { ca: ca.cert, servername } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  await healthyAfterReload(t, config('127.0.0.2'), config('127.0.0.1'))
})
