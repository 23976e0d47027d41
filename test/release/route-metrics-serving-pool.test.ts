// A route's request series are labelled with the pool that served each request: its canary's, its replicas', or the
// primary a read fell back to. They were all labelled with the route's own pool, so a canary's errors and latency
// were mixed into the stable version's series.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { parseExposition } from '../unit/metrics-exposition.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function requestsByPool (t: Tap, config: GatewayConfig, paths: string[]): Promise<Record<string, number>> {
  const gw = await startGateway(config, { defaultMetrics: false })
  t.teardown(() => gw.close())
  for (const path of paths) await (await fetch(gw.url + path)).arrayBuffer()
  const samples = parseExposition(await gw.gateway.metrics!.render()).samples
  const counts: Record<string, number> = {}
  for (const s of samples) if (s.name === 'switchyard_requests_total') counts[s.labels.pool!] = (counts[s.labels.pool!] ?? 0) + s.value
  return counts
}

t.test('a canary at weight 100: counted under the canary pool', async (t) => {
  const [v1, v2] = await Promise.all([TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' })])
  t.teardown(async () => { await v1.close(); await v2.close() })
  const counts = await requestsByPool(t, {
    pools: { v1: { targets: [v1.url] }, v2: { targets: [v2.url] } },
    routes: [{ name: 'pay', path: '/', pool: 'v1', canary: { pool: 'v2', weight: 100 } }],
  }, Array(5).fill('/x'))
  t.strictSame(counts, { v2: 5 })
})

t.test('reads of a split route: counted under the replicas, and a fallback under the primary', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(async () => { await primary.close(); await replica.close() })
  const config: GatewayConfig = {
    secret: 'x'.repeat(32),
    pools: { primary: { targets: [primary.url] }, replica: { targets: [replica.url], retry: { attempts: 1 }, circuitBreaker: { enabled: false } } },
    routes: [{ name: 'member', path: '/', pool: 'primary', reads: { pool: 'replica', methods: ['GET'] } }],
  }
  t.strictSame(await requestsByPool(t, config, Array(4).fill('/m')), { replica: 4 })
  replica.failCount = 1_000 // every read falls back to the primary
  t.strictSame(await requestsByPool(t, config, Array(3).fill('/m')), { primary: 3 })
})
