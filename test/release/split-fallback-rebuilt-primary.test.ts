// A split read is at its replica when a reload rebuilds the primary pool (its balancer changed); the replica then
// fails and the read falls back to the primary. It goes to the primary pool running now: the one it was admitted
// with has retired, its targets closed and its breaker shut, and the read got 503 circuit_open from it.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a fallback goes to the rebuilt primary pool', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  const config = (balancer: 'round-robin' | 'least-connections'): GatewayConfig => ({
    pools: { p: { targets: [primary.url], balancer }, r: { targets: [replica.url], retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'p', reads: { pool: 'r' } }],
  })
  let next: unknown = config('round-robin')
  const gw = await startGateway(config('round-robin'), { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
  replica.failCount = 1
  replica.failStatus = 503
  replica.delayMs = 300
  const pending = fetch(`${gw.url}/x`).then(async (res) => ({ status: res.status, upstream: res.headers.get('x-upstream'), body: await res.text() }))
  await waitFor(() => replica.requests.length === 1)
  next = config('least-connections')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  const answer = await pending
  t.equal(answer.status, 200, `served: ${answer.body.slice(0, 80)}`)
  t.equal(answer.upstream, 'primary')
  t.equal(primary.requests.length, 1)
})
