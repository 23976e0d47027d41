// A reload that rebuilds a pool starts it with a closed breaker and a tier computed afresh: the event feed says so,
// where its last word on the pool was "circuit breaker open" or "failover" though neither held any more.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { standbyConfig } from './standby.ts'
import { startGateway } from '../helpers/gateway.ts'

t.test('a rebuilt pool: its breaker and tier changes are in the feed', async (t) => {
  // never contacted; no health checks, so the rebuilt pool drops the primary's unhealthy verdict
  const config = (balancer: 'round-robin' | 'least-connections'): GatewayConfig => standbyConfig({ balancer })
  let next: unknown = config('round-robin')
  const gw = await startGateway(config('round-robin'), { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  runtime.breaker.force('open')
  runtime.pool.setStatus(runtime.pool.targets.find((x) => !x.backup)!, { healthy: false })
  t.equal(runtime.pool.tier, 'backup')
  next = config('least-connections')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  const rebuilt = gw.gateway.pools().get('p')!
  t.not(rebuilt, runtime, 'rebuilt')
  t.equal(rebuilt.breaker.state, 'closed')
  t.equal(rebuilt.pool.tier, 'primary')
  const last = gw.gateway.events.list().filter((e) => e.pool === 'p').slice(-2)
  // before: breaker open, target unhealthy, failover, and nothing after the reload
  t.strictSame(last.map((e) => e.kind), ['breaker', 'tier'], 'the feed ends on what holds now')
  const logged = gw.logs.filter((l) => l.pool === 'p').slice(-2)
  t.strictSame(logged.map((l) => [l.breaker ?? null, l.tier ?? null]), [['closed', null], [null, 'primary']], 'logged with the state now')
})
