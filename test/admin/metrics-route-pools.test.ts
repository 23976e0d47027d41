// A reload that keeps a route but stops it sending to a pool that stays (the route moved, or lost its canary)
// drops that route × pool pair's series, as it drops a removed route's, pool's or target's: after the first scrape,
// which shows the pair's final counts.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Route = GatewayConfig['routes'][number]
const other: Route = { name: 'other', path: '/other', pool: 'a' }
const cases: { name: string; before: Route; after: Route; gone: string; kept: string }[] = [
  { name: 'moved from a to b', before: { name: 'api', path: '/api', pool: 'a' }, after: { name: 'api', path: '/api', pool: 'b' }, gone: 'a', kept: 'b' },
  {
    name: 'lost its canary on a',
    before: { name: 'api', path: '/api', pool: 'b', canary: { pool: 'a', weight: 50 } },
    after: { name: 'api', path: '/api', pool: 'b' },
    gone: 'a',
    kept: 'b',
  },
]

for (const c of cases) {
  t.test(`a route that ${c.name}: its series with the pool it left are dropped`, async (t) => {
    const [a, b] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' })])
    const config = (api: Route): GatewayConfig => ({ pools: { a: { targets: [a.url] }, b: { targets: [b.url] } }, routes: [api, other] })
    let next: unknown = config(c.before)
    const gw = await startGateway(config(c.before), { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(async () => { await gw.close(); await Promise.all([a.close(), b.close()]) })
    const series = async (route: string, pool: string): Promise<string[]> => (await gw.gateway.metrics!.render()).split('\n')
      .filter((l) => l.startsWith('switchyard_request') && l.includes(`route="${route}"`) && l.includes(`pool="${pool}"`))

    // enough requests that a 50% canary sends some to each pool
    for (let i = 0; i < 20; i++) await (await fetch(`${gw.url}/api/${i}`)).arrayBuffer()
    await (await fetch(`${gw.url}/other`)).arrayBuffer()
    t.ok((await series('api', c.gone)).length > 0, `api × ${c.gone} series before the reload`)
    next = config(c.after)
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    await (await fetch(`${gw.url}/api/x`)).arrayBuffer()
    // changed: the first scrape after the reload shows the pair's final counts (those since the last scrape), then it goes
    t.ok((await series('api', c.gone)).length > 0, `api × ${c.gone} shown once more after it`)
    t.same(await series('api', c.gone), [], `no api × ${c.gone} series at the second scrape`)
    t.ok((await series('api', c.kept)).length > 0, `api × ${c.kept} stays`)
    t.ok((await series('other', 'a')).length > 0, 'the pool\'s other route stays')
  })
}
