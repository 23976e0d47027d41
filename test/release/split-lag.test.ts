// A read/write split's lag limit: each subtest is one behaviour, named as its file was.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, type TestGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { httpRequest } from '../proxy/http.ts'

// A reload that rebuilds a lag-limited replica pool (here: another health-check interval) judges each replica by the
// lag it last reported to the replaced pool's checks, at once: the replica in sync keeps taking reads and the one
// behind stays out, with no event. Without it, a replica whose lag is not known yet is lagging (fail closed), so
// every replica would be out until its first probe, and the reads would fall back to the primary meanwhile.
t.test('split-lag-rebuilt-pool', async (t) => {
  t.test('a rebuilt lag-limited pool keeps what its replicas last reported', async (t) => {
    const [primary, inSync, behind] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'in-sync' }), TestUpstream.start({ name: 'behind' })])
    t.teardown(() => Promise.all([primary.close(), inSync.close(), behind.close()]))
    inSync.healthHeaders = { 'x-replication-lag-ms': '10' }
    behind.healthHeaders = { 'x-replication-lag-ms': '5000' }
    const config = (intervalMs: number): GatewayConfig => ({
      secret: 'a-secret-of-16-chars',
      pools: { primary: { targets: [primary.url] }, replicas: { targets: [inSync.url, behind.url], healthCheck: { path: '/health', intervalMs, timeoutMs: 100 } } },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
    })
    let next = config(1000)
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    const states = (): string => gw.gateway.status().pools.replicas!.targets.map((x) => x.state).join(',')
    // 'lagging' is also the state of a replica whose lag is not known yet: wait for the one behind to have reported
    // (on a loaded host its first report came after the reload, an event the case then counted)
    await waitFor(() => states() === 'healthy,lagging' && gw.gateway.events.list().some((e) => e.message === 'replica lagging: no reads until it catches up'))
    const before = gw.gateway.events.list().length
    next = config(2000)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.equal(states(), 'healthy,lagging', 'judged at once from the lag carried over')
    t.strictSame(gw.gateway.events.list().slice(before).filter((e) => e.kind !== 'reload').map((e) => e.message), [], 'no lagging and caught-up events, no fallback')
  })
})

// A replica of a lag-limited pool whose lag is not known yet (the gateway just started, or a reload added it) takes
// no reads, but that is no news: the event feed says so at info, and its first report at info too, unless it
// reports it is behind, which stays a warning. Before, every start of a gateway with maxLagMs logged a warning per
// replica ("replica lagging") and then "caught up", for replicas that were never behind.
t.test('split-lag-start-events', async (t) => {
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
    // the pool had no target until the first report: said at info too (an error paged on every start before)
    const tiers = gw.logs.filter((l) => l.event === 'tier').map((l) => [l.level, l.tier])
    t.strictSame(tiers, [[30, 'none'], [30, 'primary']], 'no target until a replica reported, then traffic: both info')
    t.strictSame(gw.logs.filter((l) => l.level >= 50).map((l) => l.msg), [], 'no error line at start')
  })

  t.test('no target because every replica is reported behind: still an error', async (t) => {
    // never contacted: the test sets the lag verdicts itself, as the health checks would
    const gw = await startGateway({ pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const { pool } = gw.gateway.pools().get('p')!
    const [a, b] = pool.targets as [typeof pool.targets[0], typeof pool.targets[0]]
    const tierLevels = (): number[] => gw.logs.filter((l) => l.event === 'tier').map((l) => l.level)
    pool.setStatus(a, { lagging: true })
    pool.setStatus(b, { lagging: true, lagUnknown: true })
    t.strictSame(tierLevels(), [30], 'one replica behind, the other not reported yet: info')
    pool.setStatus(b, { lagging: false, lagUnknown: false })
    pool.setStatus(b, { lagging: true })
    t.strictSame(tierLevels(), [30, 30, 50], 'both reported behind: the error')
    pool.setStatus(b, { lagging: false })
    pool.setStatus(b, { healthy: false, lagging: true, lagUnknown: true })
    t.strictSame(tierLevels(), [30, 30, 50, 30, 50], 'the one not reported yet is also unhealthy: the error')
  })

  t.test('no target while a probed replica reports no lag at all: an error, it is not waiting', async (t) => {
    const [primary, reporting, silent] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'reporting' }), TestUpstream.start({ name: 'silent' })])
    t.teardown(() => Promise.all([primary.close(), reporting.close(), silent.close()]))
    reporting.healthHeaders = { 'x-replication-lag-ms': '0' }
    const gw = await startGateway({
      secret: 'a-shared-secret-of-32-characters!!',
      pools: { primary: { targets: [primary.url] }, replicas: { targets: [reporting.url, silent.url], healthCheck: { ...HEALTH, unhealthyThreshold: 1 } } },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const states = (): string => gw.gateway.status().pools.replicas!.targets.map((x) => x.state).join(',')
    await waitFor(() => states() === 'healthy,lagging' && gw.gateway.pools().get('replicas')!.health!.lastResult(gw.gateway.pools().get('replicas')!.pool.targets[1]!) !== undefined)
    const mark = gw.logs.length
    reporting.unhealthy = true
    await waitFor(() => gw.logs.slice(mark).some((l) => l.event === 'tier'))
    t.strictSame(gw.logs.slice(mark).filter((l) => l.event === 'tier').map((l) => [l.level, l.msg]), [[50, 'no target available']], 'the outage is an error')
  })
})

// A lag-limited replica pool fails closed on lag it does not know (README "Read/write split"): a lagging replica
// whose health check then passes without a valid lag (a header 'unknown', '-1', '5e3', none at all, a JSON null or
// "5000", a body that does not parse) stays lagging and takes no reads; a replica a reload adds takes none before
// a probe has reported its lag. Before, both took reads: a replica 10 minutes behind served them.
t.test('split-lag-unknown', async (t) => {
  const SECRET = 'a-shared-secret-of-32-characters!!'
  const HEALTH = { path: '/health', intervalMs: 50, timeoutMs: 50, healthyThreshold: 1, unhealthyThreshold: 2, jitter: 0 }

  interface HealthAnswer { headers: Record<string, string>; body?: string }

  /** A replica whose /health answers what the test says, after `delayMs`; other requests answer its name. */
  async function scriptedReplica (t: Test, name: string, answer: { health: HealthAnswer; delayMs?: number }) {
    const served = { reads: 0, probes: 0 }
    const { url } = await serveOnLoopback(t, (req: IncomingMessage, res: ServerResponse) => {
      req.resume()
      req.once('end', () => {
        if (req.url !== '/health') {
          served.reads++
          res.writeHead(200, { 'x-upstream': name }).end(name)
          return
        }
        const reply = (): void => {
          served.probes++
          res.writeHead(200, { 'content-type': 'text/plain', ...answer.health.headers }).end(answer.health.body ?? 'ok')
        }
        if (answer.delayMs !== undefined) setTimeout(reply, answer.delayMs)
        else reply()
      })
    })
    return { url, served }
  }

  const config = (primary: string, replicas: string[], healthCheck = HEALTH): GatewayConfig => ({
    log: { level: 'warn' },
    secret: SECRET,
    pools: { primary: { targets: [primary] }, replicas: { targets: replicas, healthCheck, retry: { attempts: 1 } } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 3000, maxLagMs: 1000 } }],
  })

  const stateOf = (gw: TestGateway, url: string): string | undefined => gw.gateway.status().pools.replicas!.targets.find((x) => x.url === url)?.state

  t.test('a lagging replica whose health check passes without a valid lag stays lagging, for every such answer', async (t) => {
    const primary = await TestUpstream.start({ name: 'primary' })
    const inSync = await TestUpstream.start({ name: 'in-sync' })
    t.teardown(() => Promise.all([primary.close(), inSync.close()]))
    inSync.healthHeaders = { 'x-replication-lag-ms': '10' }
    const answer = { health: { headers: { 'x-replication-lag-ms': '5000' } } as HealthAnswer }
    const behind = await scriptedReplica(t, 'behind', answer)
    const gw = await startGateway(config(primary.url, [inSync.url, behind.url]), { defaultMetrics: false })
    t.teardown(() => gw.close())
    const cases: [string, HealthAnswer][] = [
      ['header unknown', { headers: { 'x-replication-lag-ms': 'unknown' } }],
      ['header -1', { headers: { 'x-replication-lag-ms': '-1' } }],
      ['header 5e3', { headers: { 'x-replication-lag-ms': '5e3' } }],
      ['no lag header', { headers: {} }],
      ['JSON null', { headers: { 'content-type': 'application/json' }, body: '{"replicationLagMs":null}' }],
      ['JSON string', { headers: { 'content-type': 'application/json' }, body: '{"replicationLagMs":"5000"}' }],
      ['JSON that does not parse', { headers: { 'content-type': 'application/json' }, body: '{oops' }],
    ]
    for (const [name, health] of cases) {
      answer.health = { headers: { 'x-replication-lag-ms': '5000' } }
      await waitFor(() => stateOf(gw, behind.url) === 'lagging' && stateOf(gw, inSync.url) === 'healthy')
      answer.health = health
      const probes = behind.served.probes
      await waitFor(() => behind.served.probes >= probes + 3) // three passing probes with the new answer
      t.equal(stateOf(gw, behind.url), 'lagging', `${name}: still lagging`)
      const before = behind.served.reads
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) statuses.push((await httpRequest(`${gw.url}/m/1`)).status)
      t.strictSame(statuses, [200, 200, 200, 200, 200, 200], `${name}: reads answered`)
      t.equal(behind.served.reads, before, `${name}: no read reached it`)
    }
    // and a valid report of having caught up lets it back
    answer.health = { headers: { 'x-replication-lag-ms': '20' } }
    await waitFor(() => stateOf(gw, behind.url) === 'healthy')
  })

  t.test('a replica a reload adds takes no read before a probe has reported its lag', async (t) => {
    const primary = await TestUpstream.start({ name: 'primary' })
    const inSync = await TestUpstream.start({ name: 'in-sync' })
    t.teardown(() => Promise.all([primary.close(), inSync.close()]))
    inSync.healthHeaders = { 'x-replication-lag-ms': '10' }
    // far behind, and its health check takes a while to say so (it asks its database)
    const added = await scriptedReplica(t, 'added', { health: { headers: { 'x-replication-lag-ms': '600000' } }, delayMs: 300 })
    const slowHealth = { ...HEALTH, intervalMs: 2000, timeoutMs: 1000 }
    let next = config(primary.url, [inSync.url], slowHealth)
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    await waitFor(() => gw.gateway.readiness() === 'ready' && stateOf(gw, inSync.url) === 'healthy')
    next = config(primary.url, [inSync.url, added.url], slowHealth)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.equal(stateOf(gw, added.url), 'lagging', 'lagging (unknown) from the reload on')
    const statuses = new Set<number>()
    const until = Date.now() + 400
    while (Date.now() < until) statuses.add((await httpRequest(`${gw.url}/m/1`)).status)
    t.strictSame([...statuses], [200])
    t.equal(added.served.probes, 1, 'its first probe has answered meanwhile')
    t.equal(added.served.reads, 0, 'no read reached it before, nor after, its probe said it is 10 minutes behind')
    t.equal(stateOf(gw, added.url), 'lagging')
  })
})

// #waitingForLag): a replica pool with no target is said at info only while a replica that could take reads once it
// reports its lag is waiting for that report. A replica out for another reason (draining, disabled, ejected) is not
// waiting, whatever its lag: no target is the error. The same holds for the tier a reload's rebuilt pool starts with.
t.test('events-waiting-for-lag-scope', async (t) => {
  t.test('a replica waiting for its lag but out for another reason: no target is an error', async (t) => {
    // never contacted: the test sets the verdicts itself, as the health checks, an operator or ejection would
    const gw = await startGateway({ pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const { pool } = gw.gateway.pools().get('p')!
    const [a, b] = pool.targets as [typeof pool.targets[0], typeof pool.targets[0]]
    const tiers = (): Array<[number, string]> => gw.logs.filter((l) => l.event === 'tier').map((l) => [l.level, l.msg as string])
    pool.setStatus(a, { lagging: true })
    const cases: Array<[string, Parameters<typeof pool.setStatus>[1]]> = [
      ['draining', { draining: true }],
      ['disabled', { disabled: true }],
      // far enough ahead that no test run reaches it
      ['ejected', { ejectedUntil: Date.now() + 3_600_000 }],
    ]
    for (const [why, out] of cases) {
      const mark = tiers().length
      pool.setStatus(b, { lagging: true, lagUnknown: true, ...out })
      t.strictSame(tiers().slice(mark), [[50, 'no target available']], `the one not reported yet is also ${why}: the error`)
      pool.setStatus(b, { lagging: false, lagUnknown: false, draining: false, disabled: false, ejectedUntil: 0 })
      t.equal(pool.tier, 'primary')
    }
  })

  t.test('a reload rebuilding a replica pool: its tier is said as the start would say it', async (t) => {
    const HEALTH = { path: '/health', timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 3, jitter: 0 }
    const [primary, inSync, behind] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'in-sync' }), TestUpstream.start({ name: 'behind' })])
    t.teardown(() => Promise.all([primary.close(), inSync.close(), behind.close()]))
    inSync.healthHeaders = { 'x-replication-lag-ms': '10' }
    behind.healthHeaders = { 'x-replication-lag-ms': '5000' }
    // a refused address: not probed yet when the reload swaps the rebuilt pool in (its checks start after), and its
    // first probe fails below unhealthyThreshold, so it stays healthy with its lag unknown
    const refused = await TestUpstream.start({ name: 'refused' })
    await refused.refuse()
    const config = (targets: string[], intervalMs: number): GatewayConfig => ({
      log: { level: 'info' },
      secret: 'a-shared-secret-of-32-characters!!',
      pools: { primary: { targets: [primary.url] }, replicas: { targets, healthCheck: { ...HEALTH, intervalMs } } },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
    })
    let next = config([inSync.url, behind.url], 60_000)
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    const states = (): string => gw.gateway.status().pools.replicas!.targets.map((x) => x.state).join(',')
    await waitFor(() => states() === 'healthy,lagging')
    const rebuiltTiers = (mark: number): Array<[number, string]> => gw.logs.slice(mark).filter((l) => l.event === 'tier' && l.pool === 'replicas' && String(l.msg).endsWith('(the reload rebuilt the pool)')).map((l) => [l.level, l.msg as string])

    // another interval rebuilds the pool; only the replica reported behind is left: its carried lag keeps it out
    let mark = gw.logs.length
    next = config([behind.url], 30_000)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.equal(states(), 'lagging')
    t.strictSame(rebuiltTiers(mark), [[50, 'no target available (the reload rebuilt the pool)']], 'no replica can take reads: the error')

    // back to a pool with traffic, then rebuilt with only a replica whose lag is not known yet: no news
    next = config([inSync.url], 60_000)
    t.equal((await gw.gateway.reload()).result, 'success')
    await waitFor(() => states() === 'healthy')
    mark = gw.logs.length
    next = config([refused.url], 30_000)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.equal(states(), 'lagging')
    t.strictSame(rebuiltTiers(mark), [[30, 'no target available until a replica reports its lag (the reload rebuilt the pool)']], 'waiting for a first report: info')
  })
})

// A lag-limited replica that was out (its health checks marked it unhealthy) missed the writes made meanwhile: the
// lag it reported before says nothing of them. It comes back lagging, lag unknown, and takes no read until a probe
// reports its lag again (README "Read/write split": a replica whose lag is not known yet, as one just started, is
// lagging). Before, a replica back from an outage whose health check passed without a lag report went straight to
// healthy on the lag it reported before going down and served reads far staler than maxLagMs; a reload that rebuilt
// the pool meanwhile carried that old lag over too.
t.test('split-lag-after-outage', async (t) => {
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
})
