// A read/write split's fallback to the primary when replicas fail or lag: each subtest is one behaviour, named as its file was.
import { createServer, request, type ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { startGateway, type TestGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { RequestListener } from 'node:http'
import type { BreakerState } from '../../src/resilience/breaker.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { parseExposition } from '../unit/metrics-exposition.ts'
import { type ErrorBody, httpRequest } from '../proxy/http.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPlans, DEFAULT_FALLBACK_STREAK, type PlanEvents, type RoutePlan } from '../../src/release/plans.ts'
import { RoutingTable } from '../../src/routing/table.ts'
import { ManualClock } from '../helpers/clock.ts'
import type { AddressInfo } from 'node:net'

// A split read with a body (a POST in reads.methods) is sent to the replicas when its headers arrive, their breaker
// closed; while its body is still being read the replicas' breaker opens. Once the body is in, the replicas' breaker
// refuses it: the read falls back to the primary (which has the data too), as every other replica refusal does,
// instead of failing 503 circuit_open. Pins src/proxy/forward.ts #circuitOpen:
// `if (!this.#fallBack(ex, undefined)) this.#sendError(ex, 'circuit_open', ...)`.
t.test('split-fallback-breaker-opened-during-body', async (t) => {
  t.test('a read whose replicas\' breaker opened while its body arrived is served by the primary', async (t) => {
    const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
    t.teardown(() => Promise.all([primary.close(), replica.close()]))
    const gw = await startGateway({
      pools: {
        primary: { targets: [primary.url], retry: { attempts: 1 } },
        replicas: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 60_000 } },
      },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const breaker = gw.gateway.pools().get('replicas')!.breaker

    const body = '{"query":"a read with a body"}'
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${gw.url}/m/search`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => resolve({ status: res.statusCode!, text }))
      })
      req.on('error', reject)
      req.flushHeaders()
      // admitted (routed to the replicas) once the gateway counts it in flight; only then the breaker opens
      waitFor(() => gw.gateway.proxy.active === 1).then(() => {
        breaker.force('open')
        req.end(body)
      }, reject)
    })
    const res = await answer
    t.equal(res.status, 200, 'not 503 circuit_open')
    t.equal(JSON.parse(res.text).name, 'primary', 'the primary served the read')
    t.equal(replica.hits, 0, 'no replica was tried')
    t.equal(primary.hits, 1)
    await waitFor(() => gw.gateway.proxy.active === 0)
    t.match(gw.accessLogs().find((l) => l.path === '/m/search'), { status: 200 })
  })
})

// A split read that was the replicas' half-open probe and fell back to the primary is judged by the primary's breaker,
// as the primary's request. The probe's hook over the replicas' breaker was left on the exchange: the primary's answer
// closed the replicas' breaker although no replica had answered, and the primary's breaker never heard of it.
t.test('split-fallback-breaker', async (t) => {
  type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

  const serve = async (t: Tap, handler: RequestListener): Promise<string> => (await serveOnLoopback(t, handler)).url

  const BREAKER = { volumeThreshold: 1, errorThresholdPercentage: 50, rollingWindowMs: 10_000, resetTimeoutMs: 300 }

  async function gateway (t: Tap, replica: string, primary: string): Promise<TestGateway> {
    const gw = await startGateway({
      pools: {
        primary: { targets: [primary], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: BREAKER },
        replicas: {
          targets: [replica],
          retry: { attempts: 1, perTryTimeoutMs: 15_000 },
          outlier: { enabled: false },
          circuitBreaker: BREAKER,
          timeouts: { requestMs: 20_000 },
          connections: { maxPerTarget: 1, maxQueuedPerTarget: 1 },
        },
      },
      routes: [{ path: '/', pool: 'primary', reads: { pool: 'replicas' } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    return gw
  }

  t.test("a probe read no replica answered: the primary's answer does not close the replicas' breaker", async (t) => {
    let hanging = 0
    const replica = await serve(t, (req, res) => { if (req.url !== '/hang') res.writeHead(503).end(); else hanging++ })
    const primary = await serve(t, (_req, res) => res.end('primary'))
    const gw = await gateway(t, replica, primary)
    const replicas = gw.gateway.pools().get('replicas')!.breaker
    const states: BreakerState[] = []
    replicas.on('state', (state) => states.push(state))
    // the replica's only connection and its only queue slot taken (sent while closed): the probe finds it busy
    const holding = new AbortController()
    t.teardown(() => holding.abort())
    const target = gw.gateway.pools().get('replicas')!.pool.targets[0]!
    fetch(`${gw.url}/hang`, { signal: holding.signal }).catch(() => {})
    await waitFor(() => hanging === 1, 5000) // the connection is busy at the replica
    fetch(`${gw.url}/hang`, { signal: holding.signal }).catch(() => {})
    await waitFor(() => target.queued === 1, 5000) // and the queue slot taken
    replicas.force('open')
    await waitFor(() => replicas.state === 'half-open', 3000)
    const res = await fetch(`${gw.url}/x`)
    t.equal(res.status, 200)
    t.equal(await res.text(), 'primary', 'the primary answered')
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.strictSame(states, ['open', 'half-open'], "the replicas' breaker is not closed by it")
  })

  t.test("a probe read that falls back: the primary's failure counts against the primary's breaker", async (t) => {
    const replica = await serve(t, (_req, res) => res.writeHead(503).end())
    const primary = await serve(t, (_req, res) => res.writeHead(503).end('primary down'))
    const gw = await gateway(t, replica, primary)
    const replicas = gw.gateway.pools().get('replicas')!.breaker
    const main = gw.gateway.pools().get('primary')!.breaker
    replicas.force('open')
    await waitFor(() => replicas.state === 'half-open', 3000)
    const res = await fetch(`${gw.url}/x`)
    t.equal(res.status, 503)
    await res.arrayBuffer()
    await waitFor(() => main.state === 'open', 1000)
    t.equal(main.state, 'open', 'one failure at volumeThreshold 1 opens it')
  })
})

// A split route with a canary: a read no replica answers falls back to where the route's other requests go by
// the canary decision. At weight 100 (a blue-green cut-over) that is the new pool; it used to be the route's old
// pool whenever the replicas failed during the attempt rather than being found out at admission.
t.test('split-fallback-canary', async (t) => {
  t.test('reads fall back to the canary at weight 100', async (t) => {
    const [blue, green, replica] = await Promise.all(['blue', 'green', 'replica'].map((name) => TestUpstream.start({ name })))
    const gw = await startGateway({
      pools: {
        blue: { targets: [blue!.url] },
        green: { targets: [green!.url] },
        replicas: { targets: [replica!.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ name: 'api', path: '/', pool: 'blue', canary: { pool: 'green', weight: 100 }, reads: { pool: 'replicas' } }],
    }, { defaultMetrics: false })
    t.teardown(async () => { await gw.close(); await Promise.all([blue, green, replica].map((u) => u!.close())) })
    const servedBy = async (method: string): Promise<string | null> => {
      const res = await fetch(`${gw.url}/x`, { method })
      await res.arrayBuffer()
      t.equal(res.status, 200, `${method} answered`)
      return res.headers.get('x-upstream')
    }
    t.equal(await servedBy('PUT'), 'green', 'a write goes to the canary')
    t.equal(await servedBy('GET'), 'replica', 'a read to the replicas')
    replica!.failCount = 1_000
    t.equal(await servedBy('GET'), 'green', 'replica answers 503: the read falls back to the canary')
    replica!.failCount = 0
    await replica!.refuse()
    t.equal(await servedBy('GET'), 'green', 'replica refuses: the same')
    t.equal(blue!.hits, 0, 'the old pool never served')
  })
})

// A split read that falls back to the primary gets the primary pool's timeouts.requestMs, from the moment it falls
// back, not the replicas': a primary slower than the replicas' deadline (but within its own) used to turn every
// fallback into a 504, and replicas that took longer than the primary's whole requestMs must not leave it an
// attempt already out of time (a 504 charged to a healthy primary).
t.test('split-fallback-deadline', async (t) => {
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
})

// A split read no replica answered falls back to the primary. That is the primary's first attempt, not a retry: it
// used to take a slot of the primary's retry budget (so a full budget answered 503 with the primary healthy and
// never tried), counted as a retry in the metrics, and the replicas' attempts counted against the primary's
// retry.attempts.
t.test('split-fallback-first-attempt', async (t) => {
  t.test('the fallback to the primary is its first attempt', async (t) => {
    const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
    replica.failCount = 1_000
    const config: GatewayConfig = {
      pools: {
        // no retries at all in the primary's budget, and a single attempt: the fallback still has its one
        main: { targets: [primary.url], retry: { attempts: 1, budget: { percent: 0, minConcurrent: 0 } } },
        replicas: { targets: [replica.url], retry: { attempts: 2 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
    }
    const gw = await startGateway(config, { defaultMetrics: false })
    t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    const res = await fetch(`${gw.url}/items`)
    t.equal(res.status, 200, 'served')
    t.equal(((await res.json()) as { name: string }).name, 'primary', 'by the primary')
    t.equal(primary.hits, 1)
    t.equal(gw.gateway.pools().get('main')!.budget.rejected, 0, 'no budget slot asked of the primary')
    const metrics = parseExposition(await (await fetch(`${admin}/metrics`)).text())
    const mainRetries = metrics.samples.filter((s) => s.name === 'switchyard_retries_total' && s.labels.pool === 'main').reduce((sum, s) => sum + s.value, 0)
    t.equal(mainRetries, 0, 'no retry counted for the primary')
  })
})

// A split read that falls back to a hash-balanced primary pool is placed by the primary's hash key, like the
// client's writes; it used to carry the replicas' (none), so a client's reads scattered over the primary's targets.
t.test('split-fallback-hash-key', async (t) => {
  t.test('fallen-back reads keep the client\'s affinity', async (t) => {
    const upstreams = await Promise.all(['p1', 'p2', 'p3', 'replica'].map((name) => TestUpstream.start({ name })))
    const [p1, p2, p3, replica] = upstreams
    await replica!.refuse()
    const gw = await startGateway({
      pools: {
        main: { targets: [p1!.url, p2!.url, p3!.url], balancer: { type: 'hash', key: 'header:x-user-id' } },
        replicas: { targets: [replica!.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
    }, { defaultMetrics: false })
    t.teardown(async () => { await gw.close(); await Promise.all(upstreams.map((u) => u!.close())) })
    const servedBy = async (method: string, user: string): Promise<string | null> => {
      const res = await fetch(`${gw.url}/x`, { method, headers: { 'x-user-id': user } })
      await res.arrayBuffer()
      return res.headers.get('x-upstream')
    }
    for (const user of ['alice', 'bob', 'carol']) {
      const home = await servedBy('DELETE', user)
      const reads = new Set<string | null>()
      for (let i = 0; i < 12; i++) reads.add(await servedBy('GET', user))
      t.same([...reads], [home], `${user}'s reads go where the writes do`)
    }
  })
})

// A split read that no replica answers is served by the primary pool, with the Host the primary's own
// preserveHost asks for. It used to carry the replicas' choice: two Host lines (the client's and the target's)
// when only the replicas preserved it, and the target's instead of the client's when only the primary did.
t.test('split-fallback-host', async (t) => {
  function hostLines (upstream: TestUpstream): string[] {
    const raw = upstream.requests.at(-1)!.rawHeaders
    const hosts: string[] = []
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'host') hosts.push(raw[i + 1]!)
    return hosts
  }

  for (const primaryPreserves of [false, true]) {
    t.test(`primary preserveHost ${primaryPreserves}, replicas ${!primaryPreserves}`, async (t) => {
      const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
      await replica.refuse() // every read falls back
      const gw = await startGateway({
        pools: {
          main: { targets: [primary.url], preserveHost: primaryPreserves },
          replicas: { targets: [replica.url], preserveHost: !primaryPreserves, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
        },
        routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
      }, { defaultMetrics: false })
      t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
      const expected = [primaryPreserves ? 'api.example.com' : new URL(primary.url).host]

      await httpRequest(`${gw.url}/x`, { method: 'POST', headers: { host: 'api.example.com' } })
      t.same(hostLines(primary), expected, 'a write: the primary pool\'s Host')

      const read = await httpRequest(`${gw.url}/x`, { headers: { host: 'api.example.com' } })
      t.equal(read.status, 200)
      t.equal(read.headers['x-upstream'], 'primary', 'served by the primary')
      t.same(hostLines(primary), expected, 'a read fallen back: the same Host as a write, once')
    })
  }
})

// A split route's fallback state (logged, in the event feed and /status) turns on only after DEFAULT_FALLBACK_STREAK
// reads in a row found no replica that answered (at once when none was available at admission), and off only after
// as many replica answers in a row. Before, it flipped on every read: one replica failing every other read made
// 199 log lines and feed events out of 200 reads, pushing everything else out of the 200-event feed.
// A reload that rebuilds the plans keeps the state while the read pool stays: before, it was reset to "not falling
// back" while the replicas were still down, and the next read logged a second "on" with no "off" between.
t.test('split-fallback-hysteresis', async (t) => {
  const N = DEFAULT_FALLBACK_STREAK

  function split (readPool = 'replicas') {
    const config = validateConfig({
      log: { level: 'silent' },
      secret: 'a-shared-secret-of-32-characters!!',
      pools: { primary: { targets: ['http://127.0.0.1:1'] }, replicas: { targets: ['http://127.0.0.1:2'] }, others: { targets: ['http://127.0.0.1:3'] } },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: readPool } }],
    })
    return { config, routes: new RoutingTable(config.routes).routes }
  }

  function recorder (): { changes: boolean[]; events: PlanEvents } {
    const changes: boolean[] = []
    return { changes, events: { fallback: (_route, active) => { changes.push(active) }, readToPrimary () {}, weight () {}, mirror () {}, rollback () {} } }
  }

  const planOf = (plans: Map<unknown, RoutePlan>): RoutePlan => [...plans.values()][0]!

  t.test('a replica failing every other read changes nothing; a streak either way does, once', async (t) => {
    const { config, routes } = split()
    const { changes, events } = recorder()
    const plan = planOf(buildPlans(config, routes, { secret: 's', clock: new ManualClock(), random: () => 0.5, events }))
    for (let i = 0; i < 200; i++) {
      if (i % 2 === 0) plan.readToPrimary('fallback')
      else plan.replicaAnswered()
    }
    t.strictSame(changes, [], 'flapping: no change reported')
    t.equal(plan.fallback, false)
    for (let i = 0; i < N - 1; i++) plan.readToPrimary('fallback')
    plan.readToPrimary('sticky') // a pinned read says nothing about the replicas
    t.strictSame(changes, [], `${N - 1} reads in a row that fell back: not yet`)
    plan.readToPrimary('fallback')
    t.strictSame(changes, [true], `the ${N}th: falling back`)
    t.equal(plan.fallback, true)
    for (let i = 0; i < 3 * N; i++) plan.readToPrimary('fallback')
    for (let i = 0; i < N - 1; i++) plan.replicaAnswered()
    plan.readToPrimary('fallback')
    for (let i = 0; i < N - 1; i++) plan.replicaAnswered()
    t.strictSame(changes, [true], 'answers interrupted by a failed read: still falling back')
    plan.replicaAnswered()
    t.strictSame(changes, [true, false], `${N} answers in a row: back on the replicas`)
    plan.noReplicaAvailable()
    t.strictSame(changes, [true, false, true], 'no replica available at all: at once')
  })

  t.test('a reload keeps the fallback state while the read pool stays; a new read pool starts afresh', async (t) => {
    const { config, routes } = split()
    const { changes, events } = recorder()
    const options = { secret: 's', clock: new ManualClock(), random: () => 0.5, events }
    const first = buildPlans(config, routes, options)
    planOf(first).noReplicaAvailable()
    const reloaded = buildPlans(config, new RoutingTable(config.routes).routes, options, first)
    t.equal(planOf(reloaded).fallback, true, '/status still says falling back')
    planOf(reloaded).noReplicaAvailable()
    t.strictSame(changes, [true], 'no second "on"')
    for (let i = 0; i < N; i++) planOf(reloaded).replicaAnswered()
    t.strictSame(changes, [true, false], 'and the "off" comes when the replicas answer')

    planOf(reloaded).noReplicaAvailable()
    const other = split('others')
    t.equal(planOf(buildPlans(other.config, other.routes, options, reloaded)).fallback, false, 'another read pool: not falling back')
  })

  // README (read/write split): reads fall back "after 5 reads in a row that no replica answered, and end after 5 reads in
  // a row" that one did. The tests above count in DEFAULT_FALLBACK_STREAK, whatever it is: this one pins the number an
  // operator reads, and so when the state (in the log, the event feed and /status) turns.
  t.test('the default streak is the 5 reads the README gives, either way', async (t) => {
    const { config, routes } = split()
    const { changes, events } = recorder()
    const plan = planOf(buildPlans(config, routes, { secret: 's', clock: new ManualClock(), random: () => 0.5, events }))
    for (let i = 0; i < 4; i++) plan.readToPrimary('fallback')
    t.strictSame(changes, [], '4 reads that fell back: not yet')
    plan.readToPrimary('fallback')
    t.strictSame(changes, [true], 'the 5th: falling back')
    for (let i = 0; i < 4; i++) plan.replicaAnswered()
    t.strictSame(changes, [true], '4 replica answers: still falling back')
    plan.replicaAnswered()
    t.strictSame(changes, [true, false], 'the 5th: back on the replicas')
  })

  // The streak that turned the state counts for nothing afterwards: the first answer after reads fell back (or the
  // first failed read after they came back) starts a new streak of one, or one replica answer right after the turn
  // would turn it back, logging "on" and "off" for a replica that answered once.
  t.test('a turn starts the next streak from zero, either way', async (t) => {
    const { config, routes } = split()
    const { changes, events } = recorder()
    const plan = planOf(buildPlans(config, routes, { secret: 's', clock: new ManualClock(), random: () => 0.5, events }))
    for (let i = 0; i < N; i++) plan.readToPrimary('fallback')
    t.strictSame(changes, [true])
    plan.replicaAnswered()
    t.strictSame(changes, [true], 'one answer right after the turn: still falling back')
    t.equal(plan.fallback, true)
    for (let i = 0; i < N - 1; i++) plan.replicaAnswered()
    t.strictSame(changes, [true, false], `${N} answers: back on the replicas`)
    plan.readToPrimary('fallback')
    t.strictSame(changes, [true, false], 'one failed read right after: still on the replicas')
    plan.noReplicaAvailable()
    t.strictSame(changes, [true, false, true], 'no replica available at all: at once')
    plan.replicaAnswered()
    t.strictSame(changes, [true, false, true], 'one answer right after: still falling back')
  })
})

// A split read that fell back to the primary is one of the primary pool's requests while it runs (its retry budget,
// "percent of active requests", counts it) and none once it ends: the pool's count of requests in flight is back to
// 0, not -1. (An undercount shrinks the pool's retry budget, and a pool whose count never returns to 0 is never
// idle, so a reload that retires it waits out its 2 x requestMs + 1 s deadline: src/upstream/registry.ts retire.)
// Pins src/proxy/forward.ts #fallBack: `primary.budget.tryStartRequest()` (matched by #afterPool's requestFinished()).
t.test('split-fallback-primary-budget-balanced', async (t) => {
  t.test('after fallback reads, the primary pool has no request in flight (count 0)', async (t) => {
    const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
    t.teardown(() => Promise.all([primary.close(), replica.close()]))
    const gw = await startGateway({
      pools: { p: { targets: [primary.url] }, r: { targets: [replica.url], retry: { attempts: 1 } } },
      routes: [{ path: '/', pool: 'p', reads: { pool: 'r' } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())

    replica.failCount = 2
    for (const path of ['/a', '/b']) {
      const read = await httpRequest(`${gw.url}${path}`)
      t.equal(read.status, 200)
      t.equal(read.echo().name, 'primary', 'the replica failed it, the primary served it')
    }
    await waitFor(() => gw.gateway.proxy.active === 0)
    t.equal(gw.gateway.pools().get('p')!.budget.active, 0, 'the primary pool: nothing in flight')
    t.equal(gw.gateway.pools().get('r')!.budget.active, 0, 'the replica pool: nothing in flight')
  })
})

// A POST read of a split route that falls back to the primary is retried there only under the PRIMARY pool's retry
// policy: with its retry.idempotencyKey off (the default), a POST carrying an Idempotency-Key is not replayed on a
// second primary target after a 503, whatever the replica pool allows (README: `idempotencyKey: true` retries
// POST/PATCH that carry the header). Pins src/proxy/forward.ts #fallBack:
// `ex.idempotencyKey = fallback.idempotencyKey && primary.config.retry.idempotencyKey`.
t.test('split-fallback-primary-idempotency-policy', async (t) => {
  t.test('a fallen-back POST read is not retried on the primary pool whose policy ignores Idempotency-Key', async (t) => {
    const [p1, p2, replica] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'p2' }), TestUpstream.start({ name: 'replica' })])
    t.teardown(() => Promise.all([p1.close(), p2.close(), replica.close()]))
    replica.failCount = 1 // the replica fails the read: the primary serves it
    p1.failCount = 1
    p2.failCount = 1
    const gw = await startGateway({
      pools: {
        primary: { targets: [p1.url, p2.url], retry: { attempts: 3, backoff: { baseMs: 1, maxMs: 2 } }, outlier: { enabled: false } },
        replicas: { targets: [replica.url], retry: { attempts: 1, idempotencyKey: true }, outlier: { enabled: false } },
      },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
    }, { defaultMetrics: false, random: () => 0 })
    t.teardown(() => gw.close())

    const res = await httpRequest(`${gw.url}/m/search`, { method: 'POST', body: 'q=1', headers: { 'idempotency-key': 'k-1' } })
    t.equal(res.status, 503, "the primary's 503 is the answer: no replay")
    await waitFor(() => gw.gateway.proxy.active === 0)
    t.equal(replica.hits, 1)
    t.equal(p1.hits + p2.hits, 1, 'one primary attempt only')
  })
})

// A split read is at its replica when a reload removes the route's primary pool; the replica then fails. There is
// no primary to fall back to: the read gets the replica's failure as an upstream error (502 upstream_error), not a
// 500 internal_error from the gateway tripping over the missing pool. Pins src/proxy/forward.ts #fallBack:
// `if (primary === undefined) return false`.
t.test('split-fallback-primary-removed', async (t) => {
  t.test('the replica fails a read after a reload removed the primary pool: 502 upstream_error', async (t) => {
    const primary = await TestUpstream.start({ name: 'primary' })
    t.teardown(() => primary.close())
    // a replica that answers only when told
    const held: ServerResponse[] = []
    const replica = createServer((req, res) => { req.resume(); req.once('end', () => held.push(res)) })
    await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => { replica.closeAllConnections(); replica.close(() => resolve()) }))
    const replicaUrl = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`

    const before: GatewayConfig = {
      pools: { p: { targets: [primary.url] }, r: { targets: [replicaUrl], retry: { attempts: 1 } } },
      routes: [{ path: '/', pool: 'p', reads: { pool: 'r' } }],
    }
    const after: GatewayConfig = { pools: { r: { targets: [replicaUrl], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'r' }] }
    let next: unknown = before
    const gw = await startGateway(before, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(() => gw.close())

    const pending = httpRequest(`${gw.url}/x`)
    await waitFor(() => held.length === 1)
    next = after
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    held[0]!.writeHead(503, { 'content-length': '4' }).end('down')
    const answer = await pending
    t.equal(answer.status, 502)
    t.equal(answer.json<ErrorBody>().error, 'upstream_error')
    t.equal(primary.hits, 0)
  })
})

// A split read is at its replica when a reload rebuilds the primary pool (its balancer changed); the replica then
// fails and the read falls back to the primary. It goes to the primary pool running now: the one it was admitted
// with has retired, its targets closed and its breaker shut, and the read got 503 circuit_open from it.
t.test('split-fallback-rebuilt-primary', async (t) => {
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
})

// A split read admitted before a reload removed its route, and served by the primary after it (the replica did not
// answer): its series were bound again at the fallback, from the route the reload had dropped, and exported for
// good; no later reload removed them. Bound at admission, as every binding is, the reload retires them: the read is
// in flight on the primary's binding from its admission, so one kept past a scrape before it falls back, and counted
// under the primary, shown at the next scrape; the route's series go after it.
t.test('split-fallback-removed-route-metrics', async (t) => {
  t.test('a removed route\'s read that falls back after the reload exports no series of the route past one scrape', async (t) => {
    const primary = await TestUpstream.start({ name: 'primary' })
    let seen = 0
    const replica = createServer(() => { seen++ }) // never answers
    await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve))
    t.teardown(async () => { replica.closeAllConnections(); replica.close(); await primary.close() })
    const replicaUrl = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`
    const withRoute: GatewayConfig = {
      log: { level: 'silent' },
      pools: { main: { targets: [primary.url] }, replicas: { targets: [replicaUrl], retry: { attempts: 1, perTryTimeoutMs: 300 } } },
      routes: [{ path: '/other', pool: 'main' }, { path: '/m', pool: 'main', name: 'members', reads: { pool: 'replicas' } }],
    }
    let next = withRoute
    const gw = await startGateway(next, { load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    const read = httpRequest(`${gw.url}/m/1`)
    await waitFor(() => seen === 1)
    next = { ...withRoute, routes: [{ path: '/other', pool: 'main' }] }
    t.equal((await gw.gateway.reload()).result, 'success')
    t.notMatch(await gw.gateway.metrics!.render(), /route="members"/, 'a scrape before the read falls back: nothing of it yet')
    t.equal((await read).status, 200, 'the primary served the read')
    t.equal(primary.requests.length, 1)
    await waitFor(() => gw.gateway.proxy.active === 0)
    // changed: the first scrape after shows the removed route's final counts (the read, under the primary), then none
    const first = (await gw.gateway.metrics!.render()).split('\n').filter((l) => l.startsWith('switchyard_requests_total{') && l.includes('route="members"'))
    t.strictSame(first, ['switchyard_requests_total{route="members",pool="main",method="GET",code="200"} 1'], 'the read counted once, under the primary')
    t.notMatch(await gw.gateway.metrics!.render(), /route="members"/, 'no series of the removed route')
  })
})

// A split route falling back (its reads found no replica that answered) turns back only after reads a replica
// answered. A replica's error answer that goes to the client as it is (a read whose body was streamed cannot go on to
// the primary, so the replica's 503 is the answer) is no replica answering: it must not count toward ending the
// fallback state. (src/proxy/attempt.ts, onResponseStart: `if (this.#atReplica && result.failure === undefined)`.)
t.test('split-fallback-replica-error-passed-on', async (t) => {
  t.test('replica 503s passed on to streamed reads do not end the fallback state', async (t) => {
    const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
    t.teardown(() => Promise.all([primary.close(), replica.close()]))
    replica.failCount = 1000 // every read: 503
    const gw = await startGateway({
      secret: 'a-shared-secret-of-32-characters!!',
      pools: {
        primary: { targets: [primary.url], retry: { attempts: 1 } },
        // bodies over 16 bytes stream: such a read cannot be sent again, to the primary or anywhere
        replicas: { targets: [replica.url], retry: { attempts: 1, maxBufferBytes: 16 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const fallback = (): boolean | undefined => gw.gateway.status().routes[0]!.reads?.fallback

    for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) {
      const res = await httpRequest(`${gw.url}/m/${i}`)
      t.equal(res.echo().name, 'primary', `read ${i}: the replica failed it, the primary served it`)
    }
    t.equal(fallback(), true, 'falling back')

    for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) {
      const res = await httpRequest(`${gw.url}/m/search`, { method: 'POST', body: 'a streamed read body, longer than sixteen bytes' })
      t.equal(res.status, 503, `streamed read ${i}: the replica's 503, passed on`)
    }
    t.equal(replica.requests.filter((r) => r.method === 'POST').length, DEFAULT_FALLBACK_STREAK, 'the replica had every streamed read')
    t.equal(fallback(), true, 'still falling back: no replica answered')
  })
})

// A read of a split route whose replica hangs: the primary serves it once the replica's attempt has had its
// perTryTimeoutMs, even when the replica pool retries nothing after a timeout (attempts 1, or 'timeout' not in
// retryOn). No replica attempt is the last one (the primary follows), so none may take the replica pool's whole
// requestMs: the client would wait out a hung replica's full deadline before the primary is even asked.
// (src/proxy/attempt.ts: `retriedAfterTimeout || this.#fallbackFollows` picks the per-try timeout.)
t.test('split-fallback-replica-per-try', async (t) => {
  type PoolSettings = Omit<GatewayConfig['pools'][string], 'targets'>

  const cases: Array<[string, PoolSettings['retry']]> = [
    ['attempts 1', { attempts: 1, perTryTimeoutMs: 300 }],
    ['timeout not in retryOn', { attempts: 3, perTryTimeoutMs: 300, retryOn: ['connect-failure', 'reset', 503] }],
  ]

  for (const [name, retry] of cases) {
    t.test(`a hung replica (${name}) holds the read for perTryTimeoutMs, not the replica pool's requestMs`, async (t) => {
      const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
      replica.mode = 'hang'
      const gw = await startGateway({
        pools: {
          main: { targets: [primary.url] },
          replicas: { targets: [replica.url], outlier: { enabled: false }, circuitBreaker: { enabled: false }, timeouts: { requestMs: 8000 }, retry },
        },
        routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
      }, { defaultMetrics: false })
      t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
      const started = performance.now()
      const res = await fetch(`${gw.url}/x`)
      await res.arrayBuffer()
      const tookMs = performance.now() - started
      t.equal(res.status, 200, 'the primary answered')
      t.equal(res.headers.get('x-upstream'), 'primary')
      t.equal(replica.requests.length, 1, 'the replica had the read first')
      t.ok(tookMs < 4000, `answered after the replica's per-try timeout (${Math.round(tookMs)} ms), not its 8 s requestMs`)
    })
  }
})

// /status and the event log show a split route falling back whenever its reads go to the primary because no replica
// answered them, not only when none was available at admission: replicas that refuse connections, with no health
// check to find it out, each read trying them first. Before, only the metric counted those; /status said
// "fallback": false and nothing was logged. A read a replica answers turns it off again; each change is one event.
t.test('split-fallback-status', async (t) => {
  t.test('reads no replica answers turn the fallback on, once; a replica answer turns it off, once', async (t) => {
    const [primary, r1, r2] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'r1' }), TestUpstream.start({ name: 'r2' })])
    t.teardown(() => Promise.all([primary.close(), r1.close(), r2.close()]))
    const gw = await startGateway({
      secret: 'a-shared-secret-of-32-characters!!',
      pools: {
        primary: { targets: [primary.url], retry: { attempts: 1 } },
        replicas: { targets: [r1.url, r2.url], retry: { attempts: 2 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas' } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const fallback = (): boolean | undefined => gw.gateway.status().routes[0]!.reads?.fallback
    const splitEvents = (): string[] => gw.gateway.events.list().filter((e) => e.kind === 'split').map((e) => e.message)
    const read = async (): Promise<string> => {
      const res = await httpRequest(`${gw.url}/m/1`)
      t.equal(res.status, 200)
      return res.echo().name
    }
    t.equal(await read() === 'primary', false, 'a replica serves')
    t.equal(fallback(), false)
    await Promise.all([r1.refuse(), r2.refuse()])
    for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) t.equal(await read(), 'primary', `read ${i}: both replicas refused, the primary served`)
    t.equal(fallback(), true, '/status: falling back')
    t.strictSame(splitEvents(), ['no replica available or none answered: reads go to the primary'], 'said once')
    await r1.restore()
    const served = new Set<string>()
    for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) served.add(await read())
    t.ok(served.has('r1'), 'r1 serves again')
    t.equal(fallback(), false, '/status: no longer falling back')
    t.strictSame(splitEvents(), ['no replica available or none answered: reads go to the primary', 'a replica answered: reads go to the replicas'], 'the return said once too')
  })
})

// A split read whose body streamed (over retry.maxBufferBytes: not held, so it cannot be sent again) is not sent
// on to the primary when its replica resets after taking the body: the body is gone, and the primary would get a
// truncated (here empty) request as if it were whole. The client gets the replica's failure, 502
// upstream_unreachable; the primary sees nothing. Pins src/proxy/forward.ts #fallBack:
// `if (fallback === undefined || ex.clientGone || (last?.responded ?? false) || !ex.replayable) return false`.
t.test('split-fallback-streamed-read-not-resent', async (t) => {
  t.test('a streamed read the replica reset is not sent to the primary', async (t) => {
    const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
    t.teardown(() => Promise.all([primary.close(), replica.close()]))
    replica.mode = 'reset-before-response' // reads the whole body, then resets
    const gw = await startGateway({
      pools: {
        primary: { targets: [primary.url], retry: { attempts: 1 } },
        replicas: { targets: [replica.url], retry: { attempts: 1, maxBufferBytes: 16 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())

    const body = 'a streamed read body, longer than sixteen bytes'
    const res = await httpRequest(`${gw.url}/m/search`, { method: 'POST', body })
    t.equal(res.status, 502)
    t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
    await waitFor(() => gw.gateway.proxy.active === 0)
    t.equal(replica.hits, 1, 'the replica had the read')
    t.equal(primary.hits, 0, 'the primary never had it')
  })
})
