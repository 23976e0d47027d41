// Retry-After on the gateway's 503s: each subtest is one behaviour, named as its file was.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, type TestGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

// A request admitted by a pool that a reload rebuilt while its retry waited: the retry goes to the running pool's
// targets, but the request stays the admitted pool's. Its breaker verdict and its count of requests in flight go
// back to the pool that admitted it, so the running pool's breaker never judges a request it did not admit (one
// failed request it never saw must not open it), its request count stays true, and the replaced pool, idle once
// the request ends, is let go. (src/proxy/retry-loop.ts, #end: `this.#done(this.#ex, this.#admitted, ...)`.)
t.test('retry-after-rebuild-breaker', async (t) => {
  type PoolSpec = GatewayConfig['pools'][string]

  function pool (a: TestUpstream, b: TestUpstream, balancer: 'round-robin' | 'least-connections'): PoolSpec {
    return {
      targets: [{ url: a.url }, { url: b.url, weight: 0.001 }],
      balancer,
      retry: { attempts: 2, backoff: { baseMs: 25, maxMs: 2000 }, perTryTimeoutMs: 5000 },
      outlier: { enabled: false },
      // one failed request in the window opens it
      circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    }
  }

  t.test('the running pool\'s breaker and request count are not the ones of a request another pool admitted', async (t) => {
    const a = await TestUpstream.start({ name: 'A' })
    const b = await TestUpstream.start({ name: 'B' })
    let current: GatewayConfig = { pools: { p: pool(a, b, 'round-robin') }, routes: [{ path: '/', pool: 'p' }] }
    const gw = await startGateway(current, { defaultMetrics: false, load: async () => validateConfig(current) })
    t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
    // the first attempt: A's 503 with Retry-After 1; the retry (after the reload) B's 503: the request fails
    a.failCount = 1
    a.failHeaders = { 'retry-after': '1' }
    b.failCount = 1
    const admittedBy = gw.gateway.pools().get('p')!
    const pending = fetch(`${gw.url}/x`).then(async (r) => { await r.arrayBuffer(); return r.status })
    await waitFor(() => a.requests.length === 1)
    // a new balancer: the pool is rebuilt, the request's retry picks in the new one
    current = { pools: { p: pool(a, b, 'least-connections') }, routes: [{ path: '/', pool: 'p' }] }
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    const running = gw.gateway.pools().get('p')!
    t.not(running, admittedBy, 'the reload rebuilt the pool')
    t.equal(await pending, 503, 'both attempts failed')
    t.equal(b.requests.length, 1, 'the retry went to B through the running pool')

    t.equal(running.budget.active, 0, 'the running pool counts no request in flight')
    t.equal(admittedBy.budget.active, 0, 'the pool that admitted the request counts it out')
    t.equal(running.breaker.allows(), true, 'the running pool\'s breaker judged nothing: still closed')
    const next = await fetch(`${gw.url}/x`)
    await next.arrayBuffer()
    t.equal(next.status, 200, 'the next request is served, not refused circuit_open')
  })
})

// A retry waiting while a reload rebuilds its pool goes out with the Host the running pool's preserveHost says:
// the client's Host once preserveHost is turned on, the target's once it is turned off, never the replaced pool's
// choice nor both. (src/proxy/retry-loop.ts, #follow: `ex.rehost(...)`.)
t.test('retry-after-rebuild-host', async (t) => {
  type PoolSpec = GatewayConfig['pools'][string]

  function pool (a: TestUpstream, b: TestUpstream, preserveHost: boolean): PoolSpec {
    // B's tiny weight: round-robin sends the first attempt to A, and only the retry (which avoids A) to B; the retry
    // waits out Retry-After (1 s) on the gateway's clock: time for the reload
    return {
      targets: [{ url: a.url }, { url: b.url, weight: 0.001 }],
      preserveHost,
      retry: { backoff: { baseMs: 25, maxMs: 2000 }, perTryTimeoutMs: 5000 },
      outlier: { enabled: false },
    }
  }

  async function retryAcrossReload (t: Test, before: boolean, after: boolean): Promise<{ status: number; hostHeaders: string[] }> {
    const a = await TestUpstream.start({ name: 'A' })
    const b = await TestUpstream.start({ name: 'B' })
    let current: GatewayConfig = { pools: { p: pool(a, b, before) }, routes: [{ path: '/', pool: 'p' }] }
    const gw = await startGateway(current, { defaultMetrics: false, load: async () => validateConfig(current) })
    t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
    a.failCount = 1
    a.failStatus = 503
    a.failHeaders = { 'retry-after': '1' }
    const pending = httpRequest(`${gw.url}/x`, { headers: { host: 'shop.example' } })
    await waitFor(() => a.requests.length === 1)
    t.equal(b.requests.length, 0, 'the first attempt went to A; the retry waits')
    current = { pools: { p: pool(a, b, after) }, routes: [{ path: '/', pool: 'p' }] }
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    const res = await pending
    t.equal(a.requests[0]!.headers.host, before ? 'shop.example' : new URL(a.url).host, 'the first attempt had the replaced pool\'s Host')
    const raw = b.requests[0]?.rawHeaders ?? []
    return { status: res.status, hostHeaders: raw.flatMap((v, i) => i % 2 === 0 && v.toLowerCase() === 'host' ? [raw[i + 1]!] : []) }
  }

  t.test('preserveHost turned on while the retry waits: the retry carries the client\'s Host', async (t) => {
    const { status, hostHeaders } = await retryAcrossReload(t, false, true)
    t.equal(status, 200, 'B answered the retry')
    t.same(hostHeaders, ['shop.example'], 'the client\'s Host, once')
  })

  t.test('preserveHost turned off while the retry waits: the retry carries the target\'s Host, once', async (t) => {
    const { status, hostHeaders } = await retryAcrossReload(t, true, false)
    t.equal(status, 200, 'B answered the retry')
    t.equal(hostHeaders.length, 1, 'one Host field')
    t.not(hostHeaders[0], 'shop.example', 'not the client\'s')
    t.match(hostHeaders[0], /^127\.0\.0\.1:\d+$/, 'the target\'s')
  })
})

// A retry is a new pick. A request's first attempt got 503 + Retry-After, and while its retry waits a reload
// rebuilds the pool (its balancer changed): the retry must go by the pool that runs now, so a target the operator
// disabled since, or one the reload removed, gets none of it. A pool the reload removed has no successor: its
// request finishes on the targets it started with.
t.test('retry-after-rebuild', async (t) => {
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
})

// A third attempt, after a reload that kept the pool but gave one of the two targets already tried a new weight (a
// new copy of the same upstream) and left the other as it was: the retry still avoids both, and goes to the one target
// not tried yet. The request's tried list then holds a copy the pool no longer has beside one it still has; every
// stale copy must be mapped to the pool's current one, not only when all of them are stale.
// (src/proxy/same-targets.ts, sameTargetsIn: `tried.every((t) => pool.has(t))`.)
t.test('retry-after-reweight-mixed', async (t) => {
  type PoolSpec = GatewayConfig['pools'][string]

  function pool (a: TestUpstream, b: TestUpstream, c: TestUpstream, aWeight: number): PoolSpec {
    // weighted round-robin: A first; a retry avoiding A goes to B (0.002 over C's 0.001); only a retry avoiding A and B
    // goes to C, and after the reload A's weight of 100 would win any pick that did not avoid it
    return {
      targets: [{ url: a.url, weight: aWeight }, { url: b.url, weight: 0.002 }, { url: c.url, weight: 0.001 }],
      balancer: 'round-robin',
      retry: { attempts: 3, backoff: { baseMs: 5, maxMs: 2000 }, perTryTimeoutMs: 5000 },
      outlier: { enabled: false },
    }
  }

  t.test('a retry avoids both targets tried when a reload gave one of them a new weight', async (t) => {
    const [a, b, c] = await Promise.all([TestUpstream.start({ name: 'A' }), TestUpstream.start({ name: 'B' }), TestUpstream.start({ name: 'C' })])
    let current: GatewayConfig = { pools: { p: pool(a, b, c, 1) }, routes: [{ path: '/', pool: 'p' }] }
    const gw = await startGateway(current, { defaultMetrics: false, load: async () => validateConfig(current) })
    t.teardown(async () => { await gw.close(); await a.close(); await b.close(); await c.close() })
    const before = gw.gateway.pools().get('p')!
    a.failCount = 1
    b.failCount = 1
    // B's 503 says Retry-After: 1: the third attempt waits on it, time for the reload
    b.failHeaders = { 'retry-after': '1' }
    const pending = fetch(`${gw.url}/x`).then(async (r) => ({ status: r.status, upstream: r.headers.get('x-upstream'), body: await r.text() }))
    await waitFor(() => a.requests.length === 1 && b.requests.length === 1)
    current = { pools: { p: pool(a, b, c, 100) }, routes: [{ path: '/', pool: 'p' }] }
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    t.equal(gw.gateway.pools().get('p'), before, 'the pool was kept (only a weight changed)')
    const res = await pending
    t.equal(res.status, 200)
    t.equal(res.upstream, 'C', 'the third attempt went to the one target not tried')
    t.equal(a.requests.length, 1, 'A, which had failed the request, got no second try')
    t.equal(b.requests.length, 1, 'nor did B')
    t.equal(c.requests.length, 1)
  })
})
