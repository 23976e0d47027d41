// An OPTIONS or TRACE whose Max-Forwards reached 0 is answered by the gateway itself (RFC 9110 §7.6.2): on a canary
// route it is the route's, not the canary's. Its answer says nothing of either version, so it must not count as a
// canary success (any client could otherwise keep a failing canary from rolling back by sending them), and it is
// logged and counted in the route's own pool series, not the canary's.
import t from 'tap'
import { request } from 'undici'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

t.test('OPTIONS Max-Forwards: 0 on a canary route neither judges the canary nor counts in its series', async (t) => {
  const stable = await TestUpstream.start({ name: 'stable' })
  const canary = await TestUpstream.start({ name: 'canary' })
  canary.failCount = 1000
  canary.failStatus = 500
  const gw = await startGateway({
    pools: { s: { targets: [stable.url] }, c: { targets: [canary.url], retry: { attempts: 1 }, circuitBreaker: { enabled: false }, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 's', canary: { pool: 'c', weight: 100, rollback: { minRequests: 10, maxErrorRatePercent: 50 } } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await stable.close(); await canary.close() })

  for (let i = 0; i < 12; i++) {
    const res = await request(`${gw.url}/x`, { method: 'OPTIONS', headers: { 'max-forwards': '0' } })
    await res.body.dump()
    t.equal(res.statusCode, 200)
  }
  for (let i = 0; i < 10; i++) await (await request(`${gw.url}/x`)).body.dump()
  t.equal(canary.requests.length, 10, 'the OPTIONS went nowhere; the GETs reached the canary')
  t.equal(gw.gateway.status().routes[0]!.canary!.weight, 0, '10 failures of 10 judged requests: rolled back')

  t.strictSame([...new Set(gw.accessLogs().filter((l) => l.method === 'OPTIONS').map((l) => l.pool))], ['s'], 'logged as the route\'s own pool')
  const series = seriesOf(await gw.gateway.metrics!.render())
  const options = Object.entries(series).filter(([k]) => k.startsWith('switchyard_requests_total{') && k.includes('method="OPTIONS"'))
  t.equal(options.length, 1)
  t.match(options[0]![0], /pool="s"/, 'counted in the route\'s own pool series')
  t.equal(options[0]![1], 12)
})
