// A retry is a new pick. A request's first attempt got 503 + Retry-After, and while its retry waits a reload
// rebuilds the pool (its balancer changed): the retry must go by the pool that runs now, so a target the operator
// disabled since, or one the reload removed, gets none of it. A pool the reload removed has no successor: its
// request finishes on the targets it started with.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type PoolSpec = GatewayConfig['pools'][string]

function pool (targets: PoolSpec['targets'], balancer: 'round-robin' | 'least-connections'): PoolSpec {
  // the retry waits out Retry-After (1 s, under maxMs) on the gateway's clock: time for the reload and the disable
  return { targets, balancer, retry: { backoff: { baseMs: 25, maxMs: 2000 }, perTryTimeoutMs: 5000 }, outlier: { enabled: false } }
}

interface Setup {
  a: TestUpstream
  b: TestUpstream
  gw: TestGateway
  /** The config the next reload loads. */
  next: (config: GatewayConfig) => void
  /** The pending request's status, and the upstream's name when one answered. */
  pending: Promise<{ status: number; name: string | undefined }>
}

/** Pool p on [A, B]; a request whose first attempt A answers 503 + Retry-After: 1, its retry waiting. */
async function setup (t: Test): Promise<Setup> {
  const a = await TestUpstream.start({ name: 'A' })
  const b = await TestUpstream.start({ name: 'B' })
  // B's tiny weight: round-robin sends the first attempt to A, and only a retry (which avoids A) to B
  const initial: GatewayConfig = { pools: { p: pool([{ url: a.url }, { url: b.url, weight: 0.001 }], 'round-robin') }, routes: [{ path: '/', pool: 'p' }] }
  let current: unknown = initial
  const gw = await startGateway(initial, { defaultMetrics: false, load: async () => validateConfig(current) })
  t.teardown(async () => {
    await gw.close()
    await a.close()
    await b.close()
  })
  a.failCount = 1
  a.failStatus = 503
  a.failHeaders = { 'retry-after': '1' }
  const pending = fetch(`${gw.url}/x`).then(async (r) => {
    const text = await r.text()
    return { status: r.status, name: r.status === 200 ? (JSON.parse(text) as { name: string }).name : undefined }
  })
  // the first attempt has its 503: the retry now waits
  await waitFor(() => a.requests.length === 1)
  t.equal(b.requests.length, 0, 'the first attempt went to A')
  return { a, b, gw, next: (config) => { current = config }, pending }
}

t.test('a target disabled after a reload rebuilt the pool gets no retry that was waiting', async (t) => {
  const { a, b, gw, next, pending } = await setup(t)
  next({ pools: { p: pool([{ url: a.url }, { url: b.url, weight: 0.001 }], 'least-connections') }, routes: [{ path: '/', pool: 'p' }] })
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const disable = await fetch(`${admin}/pools/p/targets/${encodeURIComponent(new URL(b.url).host)}/disable`, { method: 'POST' })
  t.equal(disable.status, 200)
  t.same(await pending, { status: 200, name: 'A' }, 'the retry went to A, the one target the running pool has')
  t.equal(b.requests.length, 0, 'B, disabled, got nothing')
  t.equal(a.requests.length, 2)
})

t.test('a target a rebuilding reload removed gets no retry that was waiting', async (t) => {
  const { a, b, gw, next, pending } = await setup(t)
  next({ pools: { p: pool([{ url: a.url }], 'least-connections') }, routes: [{ path: '/', pool: 'p' }] })
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.same(await pending, { status: 200, name: 'A' }, 'the retry went to A')
  t.equal(b.requests.length, 0, 'B, removed, got nothing')
  t.equal(a.requests.length, 2)
})

t.test('a retry waiting in a pool a reload removed finishes on the targets it started with', async (t) => {
  // no running pool of that name to follow: requests in flight finish on what they started with (README, Hot reload)
  const { a, b, gw, next, pending } = await setup(t)
  const q = await TestUpstream.start({ name: 'Q' })
  t.teardown(() => q.close())
  next({ pools: { q: pool([{ url: q.url }], 'round-robin') }, routes: [{ path: '/', pool: 'q' }] })
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.same(await pending, { status: 200, name: 'B' }, 'retried on the removed pool\'s other target')
  t.equal(a.requests.length, 1)
  t.equal(b.requests.length, 1)
  t.equal(q.requests.length, 0, 'never sent to another pool')
})

t.test('a retry avoids the target that failed when a reload gave it a new weight (a new copy, the pool kept)', async (t) => {
  const { a, b, gw, next, pending } = await setup(t)
  next({ pools: { p: pool([{ url: a.url, weight: 2 }, { url: b.url, weight: 0.001 }], 'round-robin') }, routes: [{ path: '/', pool: 'p' }] })
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.same(await pending, { status: 200, name: 'B' }, 'the retry went to B')
  t.equal(a.requests.length, 1, 'A, which had failed it, got no second try')
})
