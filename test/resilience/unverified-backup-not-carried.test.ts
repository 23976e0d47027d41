// A rebuilding reload carries which targets a probe had passed (verifiedUrls()), and only those: a backup whose only
// probe so far failed (below unhealthyThreshold, so still in service) is not verified in the rebuilt pool either, and
// so does not vouch for failing primaries past maxEjectionPercent. Carrying every probed target would let two
// failing primaries both go to a backup no probe has ever passed.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('a backup no probe has passed is not verified after a rebuilding reload: the pool-wide cap holds', async (t) => {
  const [p1, p2, b1] = await Promise.all(['p1', 'p2', 'b1'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all([p1!.close(), p2!.close(), b1!.close()]))
  b1!.unhealthy = true // its first probe fails: one failure, below unhealthyThreshold (3)
  const config = (keepAliveMs: number): GatewayConfig => ({
    pools: {
      p: {
        targets: [p1!.url, p2!.url, { url: b1!.url, backup: true }],
        connections: { keepAliveMs },
        retry: { attempts: 1 },
        circuitBreaker: { enabled: false },
        // one probe at start, the next a minute later
        healthCheck: { path: '/health', intervalMs: 60_000, timeoutMs: 500 },
        outlier: { consecutiveFailures: 3 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config(30_000)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const runtime = () => gw.gateway.pools().get('p')!
  const backup = () => runtime().pool.targets.find((x) => x.url === b1!.url)!
  await runtime().health!.firstRound()
  t.equal(runtime().health!.verified(backup()), false, 'its probe failed')
  t.equal(runtime().pool.state(backup()), 'healthy', 'still in service')
  b1!.unhealthy = false
  const before = runtime()
  next = config(20_000) // a pool setting: the pool is rebuilt
  await gw.gateway.reload()
  t.not(runtime(), before, 'the pool was rebuilt')
  t.equal(runtime().health!.verified(backup()), false, 'the backup is still not verified')
  p1!.failCount = 1e9
  p2!.failCount = 1e9
  for (let i = 0; i < 12; i++) await httpRequest(`${gw.url}/x`)
  t.equal(runtime().pool.tier, 'primary', 'not both primaries ejected to an unverified backup')
  t.equal(b1!.hits, 0)
})
