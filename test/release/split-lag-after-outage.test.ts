// A lag-limited replica that was out (its health checks marked it unhealthy) missed the writes made meanwhile: the
// lag it reported before says nothing of them. It comes back lagging, lag unknown, and takes no read until a probe
// reports its lag again (README "Read/write split": a replica whose lag is not known yet, as one just started, is
// lagging). Before, a replica back from an outage whose health check passed without a lag report went straight to
// healthy on the lag it reported before going down and served reads far staler than maxLagMs; a reload that rebuilt
// the pool meanwhile carried that old lag over too.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, type TestGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

const SECRET = 'a-shared-secret-of-32-characters!!'
const HEALTH = { path: '/health', intervalMs: 50, timeoutMs: 50, healthyThreshold: 1, unhealthyThreshold: 1, jitter: 0 }

const config = (primary: string, replicas: string[], intervalMs = HEALTH.intervalMs): GatewayConfig => ({
  log: { level: 'info' },
  secret: SECRET,
  pools: { primary: { targets: [primary] }, replicas: { targets: replicas, healthCheck: { ...HEALTH, intervalMs }, retry: { attempts: 1 } } },
  routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
})

const stateOf = (gw: TestGateway, url: string): string | undefined => gw.gateway.status().pools.replicas!.targets.find((x) => x.url === url)?.state

const lagUnknownOf = (gw: TestGateway, url: string): boolean | undefined => {
  const { pool } = gw.gateway.pools().get('replicas')!
  return pool.status(pool.targets.find((x) => x.url === url)!).lagUnknown
}

/** Which upstream answered each of `n` reads. */
async function readers (gw: TestGateway, n: number): Promise<string[]> {
  const served: string[] = []
  for (let i = 0; i < n; i++) {
    const res = await httpRequest(`${gw.url}/m/1`)
    served.push(`${res.status} ${String(res.headers['x-upstream'])}`)
  }
  return served
}

/** Waits for `n` more health probes to have reached `upstream`. */
async function probes (upstream: TestUpstream, n: number): Promise<void> {
  const from = upstream.healthChecks
  await waitFor(() => upstream.healthChecks >= from + n)
}

t.test('a replica back from an outage takes no read until it reports its lag again', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const replica = await TestUpstream.start({ name: 'replica' })
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  replica.healthHeaders = { 'x-replication-lag-ms': '0' }
  const gw = await startGateway(config(primary.url, [replica.url]), { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => stateOf(gw, replica.url) === 'healthy')
  t.strictSame(await readers(gw, 2), ['200 replica', '200 replica'], 'in sync: it takes the reads')

  await replica.refuse()
  await waitFor(() => stateOf(gw, replica.url) === 'unhealthy')
  // it restarts behind the primary and cannot tell its lag yet
  replica.healthHeaders = {}
  const mark = gw.logs.length
  await replica.restore()
  await probes(replica, 3)
  t.equal(stateOf(gw, replica.url), 'lagging', 'passing again, but its lag is not known')
  t.equal(lagUnknownOf(gw, replica.url), true, 'lagging because its lag is unknown, not reported behind')
  const hits = replica.hits
  t.strictSame(await readers(gw, 4), ['200 primary', '200 primary', '200 primary', '200 primary'], 'the reads go to the primary')
  t.equal(replica.hits, hits, 'no read reached the replica')

  replica.healthHeaders = { 'x-replication-lag-ms': '20' }
  await waitFor(() => stateOf(gw, replica.url) === 'healthy')
  t.strictSame(await readers(gw, 2), ['200 replica', '200 replica'], 'reported in sync: it takes the reads again')
  const lines = gw.logs.slice(mark).filter((l) => l.url === replica.url).map((l) => [l.msg, l.level])
  t.strictSame(lines, [
    ['replica reports no valid lag: its last reported lag decides (lagging if none)', 40],
    ['replica lag not reported yet: no reads until it reports', 30],
    ['target healthy', 30],
    ['replica reports its lag again', 30],
    ['replica reported its lag: takes reads', 30],
  ], 'back: lag not reported yet (info), healthy, then its report (info)')
})

t.test('a replica back from an outage that reports it is behind stays out, with a warning', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const replica = await TestUpstream.start({ name: 'replica' })
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  replica.healthHeaders = { 'x-replication-lag-ms': '0' }
  const gw = await startGateway(config(primary.url, [replica.url]), { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => stateOf(gw, replica.url) === 'healthy')
  await replica.refuse()
  await waitFor(() => stateOf(gw, replica.url) === 'unhealthy')
  replica.healthHeaders = {}
  const mark = gw.logs.length
  await replica.restore()
  await waitFor(() => stateOf(gw, replica.url) === 'lagging')
  replica.healthHeaders = { 'x-replication-lag-ms': '5000' }
  await waitFor(() => lagUnknownOf(gw, replica.url) !== true)
  await probes(replica, 2)
  t.equal(stateOf(gw, replica.url), 'lagging')
  const hits = replica.hits
  t.strictSame(await readers(gw, 2), ['200 primary', '200 primary'])
  t.equal(replica.hits, hits, 'no read reached the replica')
  const lagLines = gw.logs.slice(mark).filter((l) => l.url === replica.url && l.msg.startsWith('replica lag')).map((l) => [l.msg, l.level])
  t.strictSame(lagLines, [
    ['replica lag not reported yet: no reads until it reports', 30],
    ['replica lagging: no reads until it catches up', 40],
  ])
})

// Kept as it was: a replica that stayed healthy and whose probes stop reporting a lag keeps the last one it reported.
t.test('a replica that stayed healthy keeps its last reported lag when its probes report none', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const replica = await TestUpstream.start({ name: 'replica' })
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  replica.healthHeaders = { 'x-replication-lag-ms': '0' }
  const gw = await startGateway(config(primary.url, [replica.url]), { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => stateOf(gw, replica.url) === 'healthy')
  replica.healthHeaders = {}
  await probes(replica, 3)
  t.equal(stateOf(gw, replica.url), 'healthy')
  t.strictSame(await readers(gw, 2), ['200 replica', '200 replica'])
})

t.test('a reload that rebuilds the pool while a replica is out does not carry the lag it reported before', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const replica = await TestUpstream.start({ name: 'replica' })
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  replica.healthHeaders = { 'x-replication-lag-ms': '0' }
  let next = config(primary.url, [replica.url])
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  await waitFor(() => stateOf(gw, replica.url) === 'healthy')
  await replica.refuse()
  await waitFor(() => stateOf(gw, replica.url) === 'unhealthy')
  next = config(primary.url, [replica.url], 60) // another interval: the pool is rebuilt
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(stateOf(gw, replica.url), 'unhealthy', 'still out after the reload')
  replica.healthHeaders = {}
  await replica.restore()
  await probes(replica, 3)
  t.equal(stateOf(gw, replica.url), 'lagging', 'back with its lag unknown')
  const hits = replica.hits
  t.strictSame(await readers(gw, 2), ['200 primary', '200 primary'])
  t.equal(replica.hits, hits, 'no read reached the replica')
})

// The lag a rebuilt pool carries over is what the replaced pool's checks knew then: a replica a later reload removes
// and adds back (it may have been down, and restarted, meanwhile) is one added by a reload, lagging until it reports.
t.test('a replica a reload adds back after the pool was rebuilt is lagging until it reports its lag', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const inSync = await TestUpstream.start({ name: 'in-sync' })
  const replica = await TestUpstream.start({ name: 'replica' })
  t.teardown(() => Promise.all([primary.close(), inSync.close(), replica.close()]))
  inSync.healthHeaders = { 'x-replication-lag-ms': '0' }
  replica.healthHeaders = { 'x-replication-lag-ms': '0' }
  let next = config(primary.url, [inSync.url, replica.url])
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  await waitFor(() => stateOf(gw, replica.url) === 'healthy' && stateOf(gw, inSync.url) === 'healthy')
  next = config(primary.url, [inSync.url, replica.url], 60) // rebuilt, carrying both lags
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(stateOf(gw, replica.url), 'healthy', 'judged at once by the lag carried over')
  next = config(primary.url, [inSync.url], 60) // the same settings: the pool is kept
  t.equal((await gw.gateway.reload()).result, 'success')
  replica.healthHeaders = {} // restarted behind while out of the config
  next = config(primary.url, [inSync.url, replica.url], 60)
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(stateOf(gw, replica.url), 'lagging', 'added back: its lag is not known')
  await probes(replica, 3)
  t.equal(stateOf(gw, replica.url), 'lagging', 'still lagging after probes that report no lag')
  t.strictSame(await readers(gw, 4), ['200 in-sync', '200 in-sync', '200 in-sync', '200 in-sync'], 'the reads go to the replica in sync')
  t.equal(replica.hits, 0, 'no read reached it')
})
