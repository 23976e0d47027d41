// A replica of a lag-limited pool whose lag is not known yet (the gateway just started, or a reload added it) takes
// no reads, but that is no news: the event feed says so at info, and its first report at info too, unless it
// reports it is behind, which stays a warning. Before, every start of a gateway with maxLagMs logged a warning per
// replica ("replica lagging") and then "caught up", for replicas that were never behind.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const HEALTH = { path: '/health', intervalMs: 100, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 2, jitter: 0 }

t.test('replicas reporting their lag at start: info lines only, a warning for the one behind', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const current = await TestUpstream.start({ name: 'current' })
  const behind = await TestUpstream.start({ name: 'behind' })
  t.teardown(async () => { await primary.close(); await current.close(); await behind.close() })
  current.healthHeaders = { 'x-replication-lag-ms': '0' }
  behind.healthHeaders = { 'x-replication-lag-ms': '5000' }
  const config: GatewayConfig = {
    log: { level: 'info' },
    secret: 'a-shared-secret-of-32-characters!!',
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [current.url, behind.url], healthCheck: HEALTH } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
  }
  const gw = await startGateway(config, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const lagLines = () => gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('replica')).map((l) => [l.url, l.level, l.msg])
  await waitFor(() => lagLines().length >= 4)
  const of = (url: string) => lagLines().filter((l) => l[0] === url).map((l) => l[1])
  t.strictSame(of(current.url), [30, 30], 'not reported yet, then reported: both info')
  t.strictSame(of(behind.url), [30, 40], 'not reported yet (info), then reported behind (warn)')
  t.equal(gw.gateway.pools().get('replicas')!.pool.state(gw.gateway.pools().get('replicas')!.pool.targets.find((x) => x.url === behind.url)!), 'lagging')
})
