// Read/write split with read-your-writes: reads of a split route go to the replica pool, everything else to the
// primary; a client's successful write pins its reads on that route to the primary for stickyAfterWriteMs
// (signed cookie sy_rw, or the x-read-after-write header); replicas that lag or are down send reads to the primary.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]
const SECRET = 'a-shared-secret-of-32-characters!!'

async function setup (t: Tap, options: { stickyAfterWriteMs?: number; maxLagMs?: number; secret?: string; replicaCheck?: boolean } = {}) {
  const [primary, r1, r2] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'r1' }), TestUpstream.start({ name: 'r2' })])
  t.teardown(() => Promise.all([primary.close(), r1.close(), r2.close()]))
  const healthCheck = { path: '/health', intervalMs: 200, timeoutMs: 200, healthyThreshold: 1, unhealthyThreshold: 2 }
  const config: GatewayConfig = {
    secret: options.secret ?? SECRET,
    pools: {
      'member-primary': { targets: [primary.url] },
      'member-replicas': { targets: [r1.url, r2.url], ...(options.replicaCheck === false ? {} : { healthCheck }), retry: { attempts: 1 } },
    },
    routes: [{ path: '/member', pool: 'member-primary', reads: { pool: 'member-replicas', methods: ['GET', 'HEAD'], stickyAfterWriteMs: options.stickyAfterWriteMs ?? 3000, ...(options.maxLagMs !== undefined ? { maxLagMs: options.maxLagMs } : {}) } }],
  }
  const start = async (): Promise<TestGateway> => {
    const gw = await startGateway(config, { defaultMetrics: false })
    t.teardown(() => gw.close())
    await waitFor(() => gw.gateway.readiness() === 'ready')
    return gw
  }
  return { primary, r1, r2, start }
}

/** A tiny cookie jar: keeps what Set-Cookie says, sends it back. */
function client (url: string) {
  const jar = new Map<string, string>()
  return async (method: string, path: string, headers: Record<string, string> = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await httpRequest(url + path, { method, headers: { ...headers, ...(cookie ? { cookie } : {}) }, ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { body: '{}' } : {}) })
    const set = res.headers['set-cookie'] ?? []
    for (const line of set) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1))
    }
    return { status: res.status, upstream: res.status < 400 && method !== 'HEAD' ? res.echo().name : undefined, setCookie: set, headers: res.headers }
  }
}

t.test('GET and HEAD go to the replicas; POST, PUT, DELETE and PATCH to the primary', async (t) => {
  const { start, primary } = await setup(t)
  const gw = await start()
  const c = client(gw.url)
  const reads = new Set<string | undefined>()
  for (let i = 0; i < 4; i++) reads.add((await c('GET', '/member/1')).upstream)
  t.strictSame([...reads].sort(), ['r1', 'r2'], 'reads spread over the replicas')
  const head = await c('HEAD', '/member/1')
  t.equal(head.status, 200)
  t.equal(primary.hits, 0, 'HEAD went to a replica too')
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const other = client(gw.url)
    t.equal((await other(method, '/member/1')).upstream, 'primary', method)
  }
})

t.test('read-your-writes: after its POST a client reads from the primary until the window ends; another client never does', async (t) => {
  const { start } = await setup(t, { stickyAfterWriteMs: 1000 })
  const gw = await start()
  const alice = client(gw.url)
  const bob = client(gw.url)
  const write = await alice('POST', '/member/1')
  t.equal(write.upstream, 'primary')
  t.equal(write.setCookie.length, 1, 'a successful write sets the cookie')
  t.match(write.setCookie[0], /^sy_rw=\d+\.[A-Za-z0-9_-]{43}; Max-Age=1; Path=\/member; HttpOnly; SameSite=Lax$/)
  t.equal(write.headers['x-read-after-write'], write.setCookie[0]!.split(';')[0]!.slice('sy_rw='.length), 'and gives non-browser clients the same token')
  t.equal((await alice('GET', '/member/1')).upstream, 'primary', 'the writer reads its write from the primary')
  t.equal((await alice('GET', '/member/1')).upstream, 'primary')
  t.match((await bob('GET', '/member/1')).upstream, /^r[12]$/, 'another client reads from a replica')
  await new Promise((resolve) => setTimeout(resolve, 1050)) // the cookie's own expiry (wall clock, shared by replicas)
  t.match((await alice('GET', '/member/1')).upstream, /^r[12]$/, 'after the window: a replica again')
})

t.test('a failed write (4xx/5xx) does not pin reads', async (t) => {
  const { start, primary } = await setup(t)
  const gw = await start()
  const c = client(gw.url)
  primary.failCount = 1
  primary.failStatus = 500
  const write = await c('POST', '/member/1')
  t.equal(write.status, 500)
  t.strictSame(write.setCookie, [])
  t.match((await c('GET', '/member/1')).upstream, /^r[12]$/)
})

t.test('non-browser clients: x-read-after-write sent back as the write gave it pins reads for the window', async (t) => {
  const { start } = await setup(t, { stickyAfterWriteMs: 1000 })
  const gw = await start()
  const write = await httpRequest(`${gw.url}/member/1`, { method: 'POST', body: '{}' })
  const token = write.headers['x-read-after-write'] as string
  const read = async (value: string): Promise<string> => (await httpRequest(`${gw.url}/member/1`, { headers: { 'x-read-after-write': value } })).echo().name
  t.equal(await read(token), 'primary')
  t.match(await read(String(Date.now())), /^r[12]$/, 'a time of the client\'s own pins nothing')
  await new Promise((resolve) => setTimeout(resolve, 1050))
  t.match(await read(token), /^r[12]$/, 'after the window: a replica again')
})

t.test('forged, over-long, malformed, truncated, oversized or non-ASCII cookies and headers are ignored, never an error', async (t) => {
  const { start } = await setup(t)
  const gw = await start()
  const far = Date.now() + 3_600_000
  const valid = (await client(gw.url)('POST', '/member/1')).setCookie[0]!.split(';')[0]!
  const [, token] = valid.split('=')
  const [expiry, signature] = token!.split('.')
  const cookies = [
    `sy_rw=${far}.${signature}`, // expiry moved: the signature no longer fits
    `sy_rw=${expiry}.${'A'.repeat(43)}`, // forged signature
    `sy_rw=${expiry}`, `sy_rw=${token!.slice(0, 20)}`, 'sy_rw=', 'sy_rw=..', `sy_rw=${'9'.repeat(5000)}`,
    `sy_rw=${expiry}.${signature}x`, 'sy_rw=%ff%fe', `sy_rw=${encodeURIComponent('é')}`,
  ]
  for (const cookie of cookies) {
    const res = await httpRequest(`${gw.url}/member/1`, { headers: { cookie } })
    t.equal(res.status, 200, cookie.slice(0, 60))
    t.match(res.echo().name, /^r[12]$/, 'read from a replica')
  }
  for (const value of [String(far), '-1', 'abc', '1e20', '', ' ', '9'.repeat(40), String(Date.now()) + 'x', 'ÿ']) {
    const res = await httpRequest(`${gw.url}/member/1`, { headers: { 'x-read-after-write': value } })
    t.equal(res.status, 200, JSON.stringify(value))
    t.match(res.echo().name, /^r[12]$/)
  }
  // a cookie signed with another secret (another deployment) is forged too
  const other = await setup(t, { secret: 'another-secret-of-32-characters!!!' })
  const otherGw = await other.start()
  const foreign = (await client(otherGw.url)('POST', '/member/1')).setCookie[0]!.split(';')[0]!
  t.match((await httpRequest(`${gw.url}/member/1`, { headers: { cookie: foreign } })).echo().name, /^r[12]$/)
})

t.test('two gateway instances with the same secret: a write through A pins the next read through B', async (t) => {
  const { start } = await setup(t)
  const a = await start()
  const b = await start()
  const write = await client(a.url)('POST', '/member/1')
  const cookie = write.setCookie[0]!.split(';')[0]!
  t.equal((await httpRequest(`${b.url}/member/1`, { headers: { cookie } })).echo().name, 'primary')
})

t.test('a replica reporting lag above maxLagMs takes no reads until it catches up (state lagging)', async (t) => {
  const { start, r1, r2 } = await setup(t, { maxLagMs: 1000 })
  r2.healthHeaders = { 'x-replication-lag-ms': '10' } // a replica that reports no lag takes no reads under maxLagMs
  const gw = await start()
  const replicas = gw.gateway.pools().get('member-replicas')!
  const r1Target = replicas.pool.targets.find((x) => x.url === r1.url)!
  r1.healthHeaders = { 'x-replication-lag-ms': '5000' }
  await waitFor(() => replicas.pool.state(r1Target) === 'lagging')
  t.equal(gw.gateway.status().pools['member-replicas']!.targets.find((x) => x.url === r1.url)!.state, 'lagging')
  const c = client(gw.url)
  for (let i = 0; i < 4; i++) t.equal((await c('GET', '/member/1')).upstream, 'r2', 'only the replica in sync reads')
  r1.healthHeaders = {}
  r1.replicationLagMs = 10 // now reported in a JSON body
  await waitFor(() => replicas.pool.state(r1Target) === 'healthy')
  const seen = new Set<string | undefined>()
  for (let i = 0; i < 4; i++) seen.add((await c('GET', '/member/1')).upstream)
  t.ok(seen.has('r1'), 'caught up: reads again')
})

t.test('all replicas down: reads are served by the primary with zero failed requests, counted and logged once', async (t) => {
  const { start, r1, r2 } = await setup(t)
  const gw = await start()
  await Promise.all([r1.refuse(), r2.refuse()])
  const c = client(gw.url)
  const statuses: number[] = []
  const upstreams = new Set<string | undefined>()
  for (let i = 0; i < 30; i++) {
    const r = await c('GET', '/member/1')
    statuses.push(r.status)
    upstreams.add(r.upstream)
  }
  t.strictSame([...new Set(statuses)], [200], 'no read failed while the replicas went away')
  t.ok(upstreams.has('primary'))
  await waitFor(() => gw.gateway.status().routes[0]!.reads?.fallback === true)
  t.equal(gw.gateway.events.list().filter((e) => e.kind === 'split').length, 1, 'the fallback is one event')
  const metrics = await gw.gateway.metrics!.render()
  t.match(metrics, /switchyard_reads_to_primary_total\{route="\*\/member",reason="fallback"\} [1-9]/)
})

t.test('a replica that hangs leaves the primary the rest of the deadline: the read is served, not timed out', async (t) => {
  const [primary, r1] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'r1' })])
  t.teardown(() => Promise.all([primary.close(), r1.close()]))
  const gw = await startGateway({
    secret: SECRET,
    pools: {
      'member-primary': { targets: [primary.url] },
      // the replica's only attempt is its last: it used to get the whole deadline, leaving the primary 1 ms
      'member-replicas': { targets: [r1.url], retry: { attempts: 1, perTryTimeoutMs: 100 }, timeouts: { requestMs: 1500 } },
    },
    routes: [{ path: '/member', pool: 'member-primary', reads: { pool: 'member-replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  r1.mode = 'hang'
  for (const method of ['GET', 'HEAD']) {
    const res = await httpRequest(`${gw.url}/member/1`, { method })
    t.equal(res.status, 200, method)
    t.equal(res.headers['x-upstream'], 'primary', `${method}: the primary served it`)
  }
  t.equal(r1.hits, 2, 'each read tried the replica first')
})

t.test('replicas answering a failure status (503) leave the read to the primary instead of passing the error on', async (t) => {
  const { start, r1, r2 } = await setup(t, { replicaCheck: false })
  const gw = await start()
  for (const r of [r1, r2]) { r.failCount = 1000; r.failStatus = 503 }
  const c = client(gw.url)
  for (const method of ['GET', 'HEAD']) {
    const res = await c(method, '/member/1')
    t.equal(res.status, 200, method)
    t.equal(res.headers['x-upstream'], 'primary', `${method}: the primary served it`)
  }
  t.equal(r1.hits + r2.hits, 2, 'each read tried one replica (retry.attempts 1)')
  r1.failStatus = 404
  t.equal((await c('GET', '/member/1')).status, 404, "an answer that is no failure status is the replica's to give")
})

t.test('a method added to reads.methods (POST /search) is a read: no replica answering, the primary serves it', async (t) => {
  const [primary, r1, r2] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'r1' }), TestUpstream.start({ name: 'r2' })])
  t.teardown(() => Promise.all([primary.close(), r1.close(), r2.close()]))
  const gw = await startGateway({
    secret: SECRET,
    pools: {
      'member-primary': { targets: [primary.url] },
      // no health checks: only the attempts find out that the replicas are gone; one attempt each, so the body is
      // not buffered for a retry within the pool (retry.mayRetry), only for the fallback
      'member-replicas': { targets: [r1.url, r2.url], retry: { attempts: 1 } },
    },
    routes: [{ path: '/member', pool: 'member-primary', reads: { pool: 'member-replicas', methods: ['GET', 'HEAD', 'POST'] } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const search = () => httpRequest(`${gw.url}/member/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":"x"}' })
  const healthy = await search()
  t.match(healthy.headers['x-upstream'], /^r[12]$/, 'a replica answers it while one can')
  t.equal(healthy.headers['set-cookie'], undefined, 'a read pins nothing')
  await Promise.all([r1.refuse(), r2.refuse()])
  const refused = await search()
  t.equal(refused.status, 200, 'replicas refusing')
  t.equal(refused.headers['x-upstream'], 'primary')
  t.equal(refused.echo().bodyBytes, 9, 'with its whole body')
  await Promise.all([r1.restore(), r2.restore()])
  for (const r of [r1, r2]) { r.failCount = 1000; r.failStatus = 503 }
  const failing = await search()
  t.equal(failing.status, 200, 'replicas answering 503')
  t.equal(failing.headers['x-upstream'], 'primary')
})
