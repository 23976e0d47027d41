// A split read no replica answered falls back to the primary. That is the primary's first attempt, not a retry: it
// used to take a slot of the primary's retry budget (so a full budget answered 503 with the primary healthy and
// never tried), counted as a retry in the metrics, and the replicas' attempts counted against the primary's
// retry.attempts.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { parseExposition } from '../unit/metrics-exposition.ts'

t.test('the fallback to the primary is its first attempt', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  replica.failCount = 1_000
  const config: GatewayConfig = {
    pools: {
      // no retries at all in the primary's budget, and a single attempt: the fallback still has its one
      main: { targets: [primary.url], retry: { attempts: 1, budget: { percent: 0, minConcurrent: 0 } } },
      replicas: { targets: [replica.url], retry: { attempts: 2 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
  }
  const gw = await startGateway(config, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${gw.url}/items`)
  t.equal(res.status, 200, 'served')
  t.equal(((await res.json()) as { name: string }).name, 'primary', 'by the primary')
  t.equal(primary.hits, 1)
  t.equal(gw.gateway.pools().get('main')!.budget.rejected, 0, 'no budget slot asked of the primary')
  const metrics = parseExposition(await (await fetch(`${admin}/metrics`)).text())
  const mainRetries = metrics.samples.filter((s) => s.name === 'switchyard_retries_total' && s.labels.pool === 'main').reduce((sum, s) => sum + s.value, 0)
  t.equal(mainRetries, 0, 'no retry counted for the primary')
})
