// On a route with both a read/write split and a canary, a read the replicas answer is the replicas' answer, not the
// canary's: the canary decision (which version the route's other requests get) only says where such a read falls
// back to. A replica's 5xx must therefore not count toward the canary's rollback window (README: rollback judges the
// canary's own error rate), or failing replicas would roll back a healthy canary at weight 100 and send the next
// writes to the old version. Real loopback upstreams; replicas answering each 5xx status that is not retried or
// fallen back from (those statuses are the replicas' answer to the client).
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const READS = 6

const config = (stable: string, canary: string, replica: string): GatewayConfig => ({
  pools: {
    stable: { targets: [stable] },
    canary: { targets: [canary] },
    replicas: { targets: [replica], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
  },
  routes: [{
    name: 'items',
    path: '/',
    pool: 'stable',
    canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 10, minRequests: 3, windowMs: 60_000 } },
    reads: { pool: 'replicas' },
  }],
})

t.test('replicas answering 5xx: not the canary\'s errors, no rollback, the next write still on the canary', async (t) => {
  for (const status of [500, 501, 505, 507]) {
    const [stable, canary, replica] = await Promise.all(['stable', 'canary', 'replica'].map((name) => TestUpstream.start({ name })))
    const gw = await startGateway(config(stable!.url, canary!.url, replica!.url), { defaultMetrics: false })
    t.teardown(async () => { await gw.close(); await Promise.all([stable, canary, replica].map((u) => u!.close())) })
    replica!.failStatus = status
    replica!.failHeaders = { 'x-upstream': 'replica' }
    replica!.failCount = READS
    for (let i = 0; i < READS; i++) {
      const res = await fetch(`${gw.url}/item`)
      await res.arrayBuffer()
      t.equal(res.status, status, `replica ${status}: read ${i + 1} answered by the replica`)
      t.equal(res.headers.get('x-upstream'), 'replica', `replica ${status}: read ${i + 1}`)
    }
    await waitFor(() => gw.gateway.proxy.active === 0) // recorded as each request ends, perhaps after the client has its answer
    const c = gw.gateway.status().routes[0]!.canary!
    t.strictSame(c.window.canary, { requests: 0, errors: 0 }, `replica ${status}: nothing counted for the canary`)
    t.equal(c.weight, 100, `replica ${status}: no rollback`)
    t.equal(c.weightSource, 'file', `replica ${status}`)
    const write = await fetch(`${gw.url}/item`, { method: 'POST', body: 'x' })
    await write.arrayBuffer()
    t.equal(write.status, 200, `replica ${status}: the write answered`)
    t.equal(write.headers.get('x-upstream'), 'canary', `replica ${status}: the write goes to the canary`)
    t.equal(stable!.requests.length, 0, `replica ${status}: the old version served nothing`)
  }
})

t.test('replicas answering 200: their reads are not counted as the canary\'s requests either', async (t) => {
  const [stable, canary, replica] = await Promise.all(['stable', 'canary', 'replica'].map((name) => TestUpstream.start({ name })))
  const gw = await startGateway(config(stable!.url, canary!.url, replica!.url), { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await Promise.all([stable, canary, replica].map((u) => u!.close())) })
  for (let i = 0; i < READS; i++) {
    const res = await fetch(`${gw.url}/item`)
    await res.arrayBuffer()
    t.equal(res.headers.get('x-upstream'), 'replica')
  }
  const write = await fetch(`${gw.url}/item`, { method: 'POST', body: 'x' })
  await write.arrayBuffer()
  t.equal(write.headers.get('x-upstream'), 'canary')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.strictSame(gw.gateway.status().routes[0]!.canary!.window.canary, { requests: 1, errors: 0 }, 'only the write is the canary\'s')
})

// The other side of the same rule: a read the replicas could not answer falls back to the canary (weight 100) and is
// then the canary's request, its 5xx the canary's error. Were the fallback's version lost, a canary failing every
// fallen-back read would never roll back while the replicas are out.
t.test('reads falling back from the replicas to the canary are the canary\'s: its 5xx roll it back', async (t) => {
  const [stable, canary, replica] = await Promise.all(['stable', 'canary', 'replica'].map((name) => TestUpstream.start({ name })))
  const gw = await startGateway(config(stable!.url, canary!.url, replica!.url), { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await Promise.all([stable, canary, replica].map((u) => u!.close())) })
  replica!.failCount = 1_000 // 503: the replicas cannot serve, the read falls back
  canary!.failStatus = 500
  canary!.failHeaders = { 'x-upstream': 'canary' }
  canary!.failCount = 1_000
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gw.url}/item`)
    await res.arrayBuffer()
    t.equal(res.headers.get('x-upstream'), 'canary', `read ${i + 1} fell back to the canary`)
  }
  await waitFor(() => gw.gateway.proxy.active === 0)
  const c = gw.gateway.status().routes[0]!.canary!
  t.equal(c.weight, 0, 'rolled back')
  t.equal(c.weightSource, 'rollback')
  t.equal(stable!.requests.length, 0, 'the old version served none of the reads')
})
