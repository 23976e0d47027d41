// A reload that only respells an unnamed route (its methods in another order, its host in another case) leaves a
// rolled-back canary at 0: the route's identity, which carries the canary's state, ignores the spelling.
import t from 'tap'
import type { GatewayConfig, HttpMethod } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { mulberry32 } from '../unit/prng.ts'
import { httpRequest } from '../proxy/http.ts'

const respellings: Array<{ name: string; before: { methods: HttpMethod[]; host: string }; after: { methods: HttpMethod[]; host: string } }> = [
  { name: 'methods reordered', before: { methods: ['GET', 'POST'], host: 'api.example.com' }, after: { methods: ['POST', 'GET'], host: 'api.example.com' } },
  { name: 'host in another case', before: { methods: ['GET', 'POST'], host: 'api.example.com' }, after: { methods: ['GET', 'POST'], host: 'API.Example.com' } },
]

for (const c of respellings) {
  t.test(`a rolled-back canary stays at 0 through a reload with the route's ${c.name}`, async (t) => {
    const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
    t.teardown(() => Promise.all([stable.close(), canary.close()]))
    const config = (spelling: { methods: HttpMethod[]; host: string }): GatewayConfig => ({
      pools: { stable: { targets: [stable.url] }, canary: { targets: [canary.url], retry: { attempts: 1 }, circuitBreaker: { enabled: false }, outlier: { enabled: false } } },
      routes: [{ path: '/api', pool: 'stable', ...spelling, canary: { pool: 'canary', weight: 50, rollback: { maxErrorRatePercent: 5, minRequests: 5, windowMs: 60_000 } } }],
    })
    let next = config(c.before)
    const gw = await startGateway(next, { defaultMetrics: false, random: mulberry32(11), load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    const weight = (): { weight: number; source: string } => {
      const route = gw.gateway.status().routes[0]!.canary!
      return { weight: route.weight, source: route.weightSource }
    }
    const get = (): Promise<{ status: number }> => httpRequest(`${gw.url}/api/x`, { headers: { host: 'api.example.com' } })

    canary.failCount = 1_000_000
    canary.failStatus = 500
    for (let i = 0; i < 200 && weight().source !== 'rollback'; i++) await get()
    t.strictSame(weight(), { weight: 0, source: 'rollback' }, 'the failing canary rolled back')

    next = config(c.after)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.strictSame(weight(), { weight: 0, source: 'rollback' }, 'the rollback stands')
    const hits = canary.hits
    for (let i = 0; i < 20; i++) t.equal((await get()).status, 200)
    t.equal(canary.hits, hits, 'no request reaches the rolled-back canary')
  })
}
