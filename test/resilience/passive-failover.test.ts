// Active-Standby without health checks: a failing primary is ejected by outlier detection even when it is the
// last one, because a backup is available to take over. Before, the ejection cap (50% of the tier) kept the only
// primary in, and the healthy backup never served.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('the last failing primary is ejected and the backup serves', async (t) => {
  const [primary, backup] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'backup' })])
  primary.failCount = 1_000
  primary.failStatus = 503
  const gw = await startGateway({
    pools: {
      p: {
        targets: [primary.url, { url: backup.url, backup: true }],
        outlier: { consecutiveFailures: 3 },
        circuitBreaker: { enabled: false },
        retry: { attempts: 1 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await primary.close(); await backup.close() })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${gw.url}/x`, { method: 'POST', body: 'x' })
    await res.arrayBuffer()
    statuses.push(res.status)
  }
  t.strictSame(statuses, [503, 503, 503, 200, 200, 200], 'three failures, then the backup')
  const pool = gw.gateway.status().pools.p!
  t.equal(pool.activeTier, 'backup')
  t.equal(pool.targets.find((x) => x.id === new URL(primary.url).host)!.state, 'ejected')
})
