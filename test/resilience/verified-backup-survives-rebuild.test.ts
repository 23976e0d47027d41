// A backup the health checks have verified still vouches for failing primaries (past maxEjectionPercent) right after
// a reload rebuilds its pool: the rebuilt pool's checks carry which targets a probe had passed, as they carry which
// were probed. Before (review r43i), a rebuilding reload forgot it until the backup's next probe (up to an interval):
// two primaries failing on traffic then kept the pool on them, every request failing, the backup idle.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('a verified backup is still verified after a rebuilding reload, and takes over at once', async (t) => {
  const [p1, p2, b1] = await Promise.all(['p1', 'p2', 'b1'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all([p1!.close(), p2!.close(), b1!.close()]))
  const config = (keepAliveMs: number): GatewayConfig => ({
    pools: {
      p: {
        targets: [p1!.url, p2!.url, { url: b1!.url, backup: true }],
        connections: { keepAliveMs },
        retry: { attempts: 1 },
        circuitBreaker: { enabled: false },
        // one probe at start, the next a minute later: only a carried verdict can vouch for the backup meanwhile
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
  await waitFor(() => runtime().health!.verified(backup()))
  const before = runtime()
  next = config(20_000) // a pool setting: the pool is rebuilt
  await gw.gateway.reload()
  t.not(runtime(), before, 'the pool was rebuilt')
  t.equal(runtime().health!.verified(backup()), true, 'the backup is still verified')
  p1!.failCount = 1e9
  p2!.failCount = 1e9
  for (let i = 0; i < 12; i++) await httpRequest(`${gw.url}/x`)
  t.equal(runtime().pool.tier, 'backup', 'both failing primaries went: traffic is on the backup')
  t.equal((await httpRequest(`${gw.url}/x`)).status, 200)
})
