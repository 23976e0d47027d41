// A canary's upgrades are judged when the answer is written, not when the tunnel ends: six tunnels to the canary
// stay open while five of its requests fail. Counted at the tunnel's end, the window held only the five failures
// (100% errors) and rolled back a version whose WebSockets all worked; counted at the 101 it holds 5 of 11 (45%).
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { openTunnel } from '../proxy/ws-tunnel.ts'

t.test('open tunnels count as successes in the rollback window', async (t) => {
  const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, canary: { targets: [canary.url], outlier: { enabled: false }, circuitBreaker: { enabled: false }, retry: { attempts: 1 } } },
    routes: [{ name: 'chat', path: '/', pool: 'stable', canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 50, minRequests: 5, windowMs: 60_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await stable.close(); await canary.close() })
  const port = Number(new URL(gw.url).port)
  for (let i = 0; i < 6; i++) await openTunnel(t, port, '/ws', `ws-open-${i}`)
  canary.failCount = 5
  canary.failStatus = 500
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${gw.url}/x`)
    await res.arrayBuffer()
    t.equal(res.status, 500, `request ${i} fails at the canary`)
  }
  const route = gw.gateway.status().routes.find((r) => r.name === 'chat')!
  t.equal(route.canary!.weight, 100, 'not rolled back: 5 errors in 11')
  t.not(route.canary!.weightSource, 'rollback')
})
