// A split read that falls back to the primary gets the primary pool's timeouts.requestMs, from the moment it falls
// back, not the replicas': a primary slower than the replicas' deadline (but within its own) used to turn every
// fallback into a 504, and replicas that took longer than the primary's whole requestMs must not leave it an
// attempt already out of time (a 504 charged to a healthy primary).
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type PoolSettings = Omit<GatewayConfig['pools'][string], 'targets'>

async function readThroughFallback (t: Test, main: PoolSettings, replicas: PoolSettings, setUp: (primary: TestUpstream, replica: TestUpstream) => Promise<void>): Promise<{ status: number; upstream: string | null; primaryFailures: number }> {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  await setUp(primary, replica)
  const gw = await startGateway({
    pools: {
      main: { ...main, targets: [primary.url] },
      replicas: { outlier: { enabled: false }, circuitBreaker: { enabled: false }, ...replicas, targets: [replica.url] },
    },
    routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
  const res = await fetch(`${gw.url}/x`)
  await res.arrayBuffer()
  return { status: res.status, upstream: res.headers.get('x-upstream'), primaryFailures: gw.gateway.pools().get('main')!.pool.targets[0]!.failures }
}

t.test('a primary slower than the replicas\' requestMs', async (t) => {
  const read = await readThroughFallback(t, { timeouts: { requestMs: 30_000 } }, { timeouts: { requestMs: 300 } }, async (primary, replica) => {
    primary.delayMs = 600
    await replica.refuse()
  })
  t.equal(read.status, 200, 'answered by the primary after the replicas\' requestMs')
  t.equal(read.upstream, 'primary')
})

t.test('replicas that took longer than the primary\'s whole requestMs', async (t) => {
  const read = await readThroughFallback(t, { timeouts: { requestMs: 300 } }, { timeouts: { requestMs: 10_000 }, retry: { attempts: 1, perTryTimeoutMs: 500 } }, async (_primary, replica) => {
    replica.mode = 'hang'
  })
  t.equal(read.status, 200, 'the primary still gets its own requestMs')
  t.equal(read.upstream, 'primary')
  t.equal(read.primaryFailures, 0, 'no timeout charged to the primary')
})
