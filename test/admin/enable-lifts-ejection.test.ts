// An operator's enable also ends an outlier ejection (HAProxy lets an operator set a server ready): a primary that
// failed for a moment, was ejected for baseEjectionMs and is fixed takes traffic back once the operator says so.
// Before, the enable answered 200 and the target stayed out for the whole ejection, traffic on the backup.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

t.test('enable lifts an ejection: the fixed primary serves again at once', async (t) => {
  const [primary, backup] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'backup' })])
  const gw = await startGateway({
    pools: {
      p: {
        targets: [primary.url, { url: backup.url, backup: true }],
        outlier: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
        circuitBreaker: { enabled: false },
        retry: { attempts: 1 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await primary.close(); await backup.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const servedBy = async (): Promise<string> => {
    const res = await fetch(`${gw.url}/x`)
    const body = await res.text()
    return res.status === 200 ? (JSON.parse(body) as { name: string }).name : String(res.status)
  }
  const id = new URL(primary.url).host

  primary.failCount = 3
  const before: string[] = []
  for (let i = 0; i < 5; i++) before.push(await servedBy())
  t.strictSame(before, ['503', '503', '503', 'backup', 'backup'], 'ejected after three failures; the backup serves')
  t.equal(gw.gateway.status().pools.p!.targets.find((x) => x.id === id)!.state, 'ejected')

  const enabled = await adminRequest(admin, 'POST', `/pools/p/targets/${id}/enable`)
  t.equal(enabled.status, 200)
  t.equal((enabled.body.target as { state?: string }).state, 'healthy', 'the answer shows it back')
  t.equal(gw.gateway.status().pools.p!.activeTier, 'primary')
  t.strictSame([await servedBy(), await servedBy()], ['primary', 'primary'], 'traffic back on the primary')
})
