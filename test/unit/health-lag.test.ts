// Replication lag reported by health checks: each subtest is one behaviour, named as its file was.
import type { Dispatcher } from 'undici'
import t, { type Test } from 'tap'
import { LAG_HEADER, ProbeExchange } from '../../src/health/probe.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { poolConfig } from './config-fixtures.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { ActiveHealthChecker, type ProbeResult } from '../../src/health/active.ts'
import type { Target } from '../../src/upstream/target.ts'

// A JSON lag body of exactly 64 KiB (its content-length at the limit) is still read for its lag (health/probe.ts):
// the limit is the largest lag report taken, as the body-size check during the read has it. Dropping a body at the
// limit by its declared length would leave a replica whose report is padded to that size lagging forever.
t.test('health-lag-body-64k', async (t) => {
  class FakeController {
    aborted: Error | undefined
    abort (reason: Error): void { this.aborted = reason }
  }

  t.test('a JSON body of exactly 64 KiB by its content-length reports its lag', async (t) => {
    const LIMIT = 64 * 1024
    const head = JSON.stringify({ replicationLagMs: 5, pad: '' })
    const body = head.replace('"pad":""', `"pad":"${'x'.repeat(LIMIT - Buffer.byteLength(head))}"`)
    t.equal(Buffer.byteLength(body), LIMIT, 'the body is 64 KiB')
    for (const length of [LIMIT, LIMIT + 1]) {
      const exchange = new ProbeExchange()
      const c = new FakeController() as unknown as Dispatcher.DispatchController
      exchange.onRequestStart(c)
      exchange.onResponseStart(c, 200, { 'content-type': 'application/json', 'content-length': String(length) })
      exchange.onResponseData(c, Buffer.from(body))
      if (length > LIMIT) exchange.onResponseData(c, Buffer.from(' '))
      exchange.onResponseEnd()
      t.same(await exchange.answer, length === LIMIT ? { status: 200, lagMs: 5 } : { status: 200 }, `content-length ${length}`)
    }
  })
})

// A lag body cut short (the answer's status and headers came, then the body stalled past timeoutMs or the
// connection broke) says nothing about lag: the probe passes on its status, and a lagging replica stays lagging
// until a probe whose body arrives whole reports it caught up.
t.test('health-lag-body-cut', async (t) => {
  const INTERVAL = 10_000
  const TIMEOUT = 5_000

  t.test('a lagging replica stays lagging through probes whose lag body stalls or breaks', async (t) => {
    const state = { mode: 'whole' as 'whole' | 'stall' | 'reset', lagMs: 5000, probes: 0 }
    const { url } = await serveOnLoopback(t, (_req, res) => {
      state.probes++
      const body = JSON.stringify({ replicationLagMs: state.lagMs })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      if (state.mode === 'whole') return void res.end(body)
      res.write(body.slice(0, 5))
      if (state.mode === 'reset') setTimeout(() => res.destroy(), 20)
    })
    const clock = new ManualClock()
    const rt = new PoolRuntime('p', poolConfig({
      targets: [url],
      healthCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT, jitter: 0, unhealthyThreshold: 1 },
    }), { clock, random: () => 0 })
    t.teardown(() => rt.close())
    const health = rt.health!
    health.setMaxLagMs(1000)
    void rt.start()
    const target = rt.pool.targets[0]!
    const nextResult = async (advance: () => void | Promise<void>): Promise<void> => {
      const before = health.lastResult(target)
      await advance()
      await waitFor(() => health.lastResult(target) !== before)
    }

    await nextResult(() => clock.advance(0))
    t.equal(rt.pool.state(target), 'lagging', 'a whole body reports 5000 ms')

    state.mode = 'stall'
    await nextResult(async () => {
      clock.advance(INTERVAL)
      await waitFor(() => state.probes === 2)
      clock.advance(TIMEOUT)
    })
    t.equal(health.lastResult(target)!.ok, true, 'the status arrived in time: the probe passes')
    t.equal(rt.pool.state(target), 'lagging', 'a body that stalled past timeoutMs reports no lag')

    state.mode = 'reset'
    await nextResult(() => clock.advance(INTERVAL))
    t.equal(health.lastResult(target)!.ok, true)
    t.equal(rt.pool.state(target), 'lagging', 'a body the connection broke off reports no lag')

    state.mode = 'whole'
    state.lagMs = 0
    await nextResult(() => clock.advance(INTERVAL))
    t.equal(rt.pool.state(target), 'healthy', 'a whole body reporting it caught up puts it back')
  })
})

// maxLagMs is the most lag a replica may report and still take reads: README, "a replica reporting more than maxLagMs
// takes no reads". A replica reporting exactly maxLagMs is in; one millisecond more is out. Judged both when a probe
// reports a lag and when a reload changes maxLagMs over a lag already reported; and end to end, with replicas on
// loopback reporting their lag in x-replication-lag-ms.
t.test('health-lag-boundary', async (t) => {
  /** A started checker on a manual clock (no probe runs unless the clock moves): results are recorded by hand. */
  function checked (t: Test) {
    const clock = new ManualClock()
    const runtime = new PoolRuntime('p', poolConfig({ targets: ['http://127.0.0.1:1'], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0, healthyThreshold: 1, unhealthyThreshold: 1 } }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    return { runtime, health: runtime.health!, pool: runtime.pool, target: runtime.pool.targets[0]!, clock }
  }

  const passed = (at: number, lagMs: number): ProbeResult => ({ ok: true, status: 200, at, lagMs })

  // [maxLagMs, reported lag, lagging]
  const CASES: [maxLagMs: number, lagMs: number, lagging: boolean][] = [
    [1000, 999, false],
    [1000, 1000, false],
    [1000, 1001, true],
    [0, 0, false],
    [0, 1, true],
    [1, 1, false],
    [1, 2, true],
    [30_000, 30_000, false],
    [30_000, 30_001, true],
  ]

  t.test('a probe reporting lag: lagging only above maxLagMs', async (t) => {
    for (const [maxLagMs, lagMs, lagging] of CASES) {
      const { runtime, health, pool, target, clock } = checked(t)
      health.setMaxLagMs(maxLagMs)
      runtime.start()
      health.record(target, passed(clock.now(), lagMs))
      t.equal(pool.status(target).lagging, lagging, `maxLagMs ${maxLagMs}, lag ${lagMs}`)
    }
  })

  t.test('a new maxLagMs judges the lag already reported the same way', async (t) => {
    for (const [maxLagMs, lagMs, lagging] of CASES) {
      const { runtime, health, pool, target, clock } = checked(t)
      // first judged against a limit that puts it on the other side, so the new limit must change it back
      health.setMaxLagMs(lagging ? lagMs + 1 : Math.max(0, lagMs - 1))
      runtime.start()
      health.record(target, passed(clock.now(), lagMs))
      if (lagMs > 0) t.equal(pool.status(target).lagging, !lagging, `first limit, lag ${lagMs}`)
      health.setMaxLagMs(maxLagMs)
      t.equal(pool.status(target).lagging, lagging, `maxLagMs now ${maxLagMs}, lag ${lagMs}`)
    }
  })

  t.test('end to end: the replica reporting exactly maxLagMs takes the reads, the one a millisecond over does not', async (t) => {
    const [primary, atLimit, over] = await Promise.all(['primary', 'at-limit', 'over'].map((name) => TestUpstream.start({ name })))
    t.teardown(() => Promise.all([primary, atLimit, over].map((u) => u!.close())))
    atLimit!.healthHeaders = { 'x-replication-lag-ms': '1000' }
    over!.healthHeaders = { 'x-replication-lag-ms': '1001' }
    const gw = await startGateway({
      pools: {
        primary: { targets: [primary!.url] },
        replicas: { targets: [atLimit!.url, over!.url], healthCheck: { path: '/health', intervalMs: 200, timeoutMs: 200, healthyThreshold: 1, unhealthyThreshold: 2 } },
      },
      routes: [{ path: '/', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const replicas = gw.gateway.pools().get('replicas')!
    const [a, b] = [atLimit!, over!].map((u) => replicas.pool.targets.find((x) => x.url === u.url)!)
    await waitFor(() => replicas.health?.lastResult(a!)?.lagMs === 1000 && replicas.health?.lastResult(b!)?.lagMs === 1001)
    t.equal(replicas.pool.status(a!).lagging, false, 'lag 1000: in')
    t.equal(replicas.pool.status(b!).lagging, true, 'lag 1001: out')
    const servedBy = new Set<string | null>()
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${gw.url}/item`)
      await res.arrayBuffer()
      t.equal(res.status, 200)
      servedBy.add(res.headers.get('x-upstream'))
    }
    t.strictSame([...servedBy], ['at-limit'], 'every read on the replica at the limit')
  })
})

// A replica's lag in a JSON body is read whether the body comes with a content-length or chunked (no length, as a
// streaming JSON writer sends it), up to 64 KiB; past that the body is dropped and reports no lag: under a lag limit
// a replica whose lag is unknown is lagging.
t.test('health-lag-chunked', async (t) => {
  async function lagServer (t: Test, body: string): Promise<string> {
    const { url } = await serveOnLoopback(t, (_req, res) => {
      res.setHeader('content-type', 'application/json')
      // two writes and no content-length: Transfer-Encoding chunked
      res.write(body.slice(0, 10))
      res.end(body.slice(10))
    })
    return url
  }

  async function probedOnce (t: Test, url: string): Promise<PoolRuntime> {
    const clock = new ManualClock()
    const rt = new PoolRuntime('p', poolConfig({ targets: [url], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0 } }), { clock, random: () => 0 })
    t.teardown(() => rt.close())
    rt.health!.setMaxLagMs(1000)
    void rt.start()
    clock.advance(0)
    await waitFor(() => rt.health!.lastResult(rt.pool.targets[0]!) !== undefined)
    return rt
  }

  t.test('a chunked JSON body reporting lag over maxLagMs makes the replica lagging', async (t) => {
    const rt = await probedOnce(t, await lagServer(t, JSON.stringify({ status: 'ok', replicationLagMs: 5000 })))
    const target = rt.pool.targets[0]!
    t.equal(rt.health!.lastResult(target)!.lagMs, 5000)
    t.equal(rt.pool.state(target), 'lagging')
  })

  t.test('a chunked JSON body over 64 KiB is dropped: no lag read', async (t) => {
    const rt = await probedOnce(t, await lagServer(t, JSON.stringify({ replicationLagMs: 10, pad: 'x'.repeat(70 * 1024) })))
    const target = rt.pool.targets[0]!
    t.equal(rt.health!.lastResult(target)!.ok, true)
    t.equal(rt.health!.lastResult(target)!.lagMs, undefined)
    t.equal(rt.pool.state(target), 'lagging', 'its lag is unknown: lagging under the limit, though the body said 10 ms')
  })
})

// A lag header with a fraction of a millisecond (x-replication-lag-ms: 12.5, as a replica computing its lag from
// timestamps may send) is a valid lag (health/probe.ts), as the same number in a JSON body is. Refusing it would
// leave such a replica's lag unknown: lagging, out of reads, however far it has caught up.
t.test('health-lag-header', async (t) => {
  class FakeController {
    aborted: Error | undefined
    abort (reason: Error): void { this.aborted = reason }
  }

  /** What a probe answered 200 with this lag header reports. */
  async function answerWithLagHeader (header: string) {
    const exchange = new ProbeExchange()
    const c = new FakeController() as unknown as Dispatcher.DispatchController
    exchange.onRequestStart(c)
    exchange.onResponseStart(c, 200, { [LAG_HEADER]: header })
    exchange.onResponseEnd()
    return exchange.answer
  }

  t.test('a lag header with a fraction reports that lag', async (t) => {
    const cases: [header: string, lagMs: number | undefined][] = [['12.5', 12.5], ['0.25', 0.25], ['12.', undefined], ['.5', undefined]]
    for (const [header, lagMs] of cases) {
      t.same(await answerWithLagHeader(header), lagMs === undefined ? { status: 200 } : { status: 200, lagMs }, `${LAG_HEADER}: ${header}`)
    }
  })

  // A lag header holds any plain number the same number in a JSON body may be: a replica that computes its lag as
  // now - lastReplicatedAt before it has replicated anything sends an epoch's 13 digits (x-replication-lag-ms:
  // 1712345678901). The header stopped at 12 digits and took that for no valid lag, which changes nothing: the
  // replica's last valid lag (a few ms) kept it in reads while it reported being decades behind (README, Read/write
  // split: a replica reporting more than maxLagMs takes no reads). A number too large to be finite stays invalid.
  t.test('a lag header of 13 digits and more reports that lag', async (t) => {
    const cases: [header: string, lagMs: number | undefined][] = [
      ['999999999999', 999999999999],
      ['1712345678901', 1712345678901],
      ['9007199254740993', 9007199254740992], // past 2^53: read as the nearest double, as JSON.parse does
      ['9'.repeat(400), undefined],
    ]
    for (const [header, lagMs] of cases) {
      t.same(await answerWithLagHeader(header), lagMs === undefined ? { status: 200 } : { status: 200, lagMs }, `${LAG_HEADER}: ${header.slice(0, 20)}`)
    }
  })
})

// The result of a probe whose JSON lag body broke off after its status (health/active.ts lastResult()) passes on its
// status and says the lag is unknown (lagUnknown), which is not the same as a whole answer that reports no lag:
// ProbeResult documents the difference for whoever reads the checker's results.
t.test('health-lag-unknown-result', async (t) => {
  t.test('a lag body cut short: the probe passes with lagUnknown; a whole body without a lag has none', async (t) => {
    const state = { cut: true }
    const { url } = await serveOnLoopback(t, (_req, res) => {
      const body = JSON.stringify(state.cut ? { replicationLagMs: 5 } : { ready: true })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      if (!state.cut) return void res.end(body)
      res.write(body.slice(0, 5), () => res.destroy()) // the head and part of the body, then the connection breaks
    })
    for (const cut of [true, false]) {
      state.cut = cut
      const clock = new ManualClock()
      const runtime = new PoolRuntime('p', poolConfig({ targets: [url], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 } }), { clock, random: () => 0 })
      t.teardown(() => runtime.close())
      void runtime.start()
      const target = runtime.pool.targets[0]!
      clock.advance(0)
      await waitFor(() => runtime.health!.lastResult(target) !== undefined)
      const result = runtime.health!.lastResult(target)!
      t.same(result, cut ? { ok: true, status: 200, lagUnknown: true, at: clock.now() } : { ok: true, status: 200, at: clock.now() }, cut ? 'cut short: lag unknown' : 'whole, no lag: nothing said of lag')
    }
  })
})

// Lag in a lag-limited pool (health/active.ts) fails closed: a target whose lag is not known yet is lagging, and a
// passing probe that reports no valid lag (no header, 'unknown', '-1', '5e3', a JSON null or string, a body that
// does not parse or is cut short: the probe gives no lagMs) changes nothing, so the last valid lag still decides.
// Before, any passing probe counted as "no lag": a replica 10 minutes behind whose health check said
// `x-replication-lag-ms: unknown` took reads again, and one just added took reads before its first probe.
// Each change between reporting a lag and not is said once (event lagReport), only where lag is judged.
t.test('health-lag-unknown', async (t) => {
  /** A started checker on a manual clock: no probe runs unless the clock moves, results are recorded by hand. */
  function checked (t: Test, targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2']) {
    const clock = new ManualClock()
    const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0, healthyThreshold: 1, unhealthyThreshold: 1 } }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    const reports: string[] = []
    runtime.health!.on('lagReport', (target, reported) => reports.push(`${runtime.pool.targets.indexOf(target)} ${reported ? 'reported' : 'missing'}`))
    return { runtime, pool: runtime.pool, health: runtime.health!, targets: runtime.pool.targets, clock, reports }
  }

  const passed = (at: number, lagMs?: number): ProbeResult => ({ ok: true, status: 200, at, ...(lagMs !== undefined ? { lagMs } : {}) })

  t.test('a target whose lag is not known yet takes no reads of a lag-limited pool', async (t) => {
    const { runtime, pool, health, targets, clock } = checked(t)
    health.setMaxLagMs(1000)
    runtime.start()
    t.same(targets.map((x) => pool.state(x)), ['lagging', 'lagging'], 'lagging from the start, before any probe')
    health.record(targets[0]!, passed(clock.now(), 10))
    t.same(targets.map((x) => pool.state(x)), ['healthy', 'lagging'], 'in once a probe reported its lag')
    health.record(targets[1]!, passed(clock.now()))
    t.equal(pool.state(targets[1]!), 'lagging', 'a passing probe without a lag leaves it out')
  })

  t.test('a passing probe without a valid lag keeps what the last valid lag decided', async (t) => {
    // [lag reports of one target, in order (undefined: a passing probe with no valid lag)] → its state after each
    const cases: [reports: (number | undefined)[], states: string[]][] = [
      [[5000, undefined, undefined, 10, undefined], ['lagging', 'lagging', 'lagging', 'healthy', 'healthy']],
      [[undefined, 5000, undefined], ['lagging', 'lagging', 'lagging']],
      [[undefined, 10, undefined], ['lagging', 'healthy', 'healthy']],
      [[10, 1001, undefined, 1000], ['healthy', 'lagging', 'lagging', 'healthy']],
    ]
    for (const [reports, states] of cases) {
      const { runtime, pool, health, targets, clock } = checked(t)
      health.setMaxLagMs(1000)
      runtime.start()
      const seen = reports.map((lagMs) => {
        health.record(targets[0]!, passed(clock.now(), lagMs))
        return pool.state(targets[0]!)
      })
      t.same(seen, states, JSON.stringify(reports))
    }
  })

  t.test('a new limit judges the last valid lag; an unknown lag is lagging under any limit, and nothing without one', async (t) => {
    const { runtime, pool, health, targets, clock } = checked(t)
    runtime.start()
    t.same(targets.map((x) => pool.state(x)), ['healthy', 'healthy'], 'lag not judged: nothing is lagging')
    health.record(targets[0]!, passed(clock.now(), 500))
    health.record(targets[0]!, passed(clock.now()))
    health.setMaxLagMs(1000)
    t.same(targets.map((x) => pool.state(x)), ['healthy', 'lagging'], 'its last valid lag (500) is within; the other never reported one')
    health.setMaxLagMs(100)
    t.same(targets.map((x) => pool.state(x)), ['lagging', 'lagging'])
    health.setMaxLagMs(undefined)
    t.same(targets.map((x) => pool.state(x)), ['healthy', 'healthy'], 'no limit: in again')
  })

  t.test('a target added later (a reload, a DNS answer) is lagging until a probe reports its lag', async (t) => {
    const { runtime, pool, health, clock } = checked(t, ['http://127.0.0.1:1'])
    health.setMaxLagMs(1000)
    runtime.start()
    runtime.updateTargets(poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0, healthyThreshold: 1, unhealthyThreshold: 1 } }))
    const added = pool.targets[1]!
    t.equal(pool.state(added), 'lagging', 'out from the moment it joins')
    t.same(pool.available().includes(added), false)
    health.record(added, passed(clock.now(), 20))
    t.equal(pool.state(added), 'healthy')
  })

  t.test('a rebuilt pool judges the lag the replaced pool last heard (carriedLag) at once', async (t) => {
    const { runtime, health, clock } = checked(t)
    health.setMaxLagMs(1000)
    runtime.start()
    health.record(runtime.pool.targets[0]!, passed(clock.now(), 10))
    health.record(runtime.pool.targets[1]!, passed(clock.now(), 5000))
    const reports = health.lagReports()
    t.same([...reports.values()], [10, 5000])
    const next = new PoolRuntime('p', poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'], healthCheck: { intervalMs: 20_000, timeoutMs: 5_000 } }), { clock, random: () => 0 })
    t.teardown(() => next.close())
    // a checker of the new pool given what the replaced one heard (its own, without it, is never started)
    const checker = new ActiveHealthChecker(next.pool, next.config.healthCheck!, { clock, random: () => 0, carriedLag: reports })
    checker.setMaxLagMs(1000)
    checker.start()
    t.teardown(() => checker.stop())
    t.same(next.pool.targets.map((x) => next.pool.state(x)), ['healthy', 'lagging', 'lagging'], 'in sync, behind, never heard of')
  })

  t.test('lagReport: once per change between reporting a valid lag and not, only while lag is judged', async (t) => {
    const { runtime, health, targets, clock, reports } = checked(t)
    runtime.start()
    health.record(targets[0]!, passed(clock.now()))
    t.same(reports, [], 'no limit: a health check need not report lag')
    health.setMaxLagMs(1000)
    const sequence: [target: Target, lagMs: number | undefined][] = [
      [targets[0]!, undefined],
      [targets[0]!, 10],
      [targets[0]!, 20],
      [targets[0]!, undefined],
      [targets[0]!, undefined],
      [targets[1]!, 10],
      [targets[1]!, undefined],
    ]
    for (const [target, lagMs] of sequence) health.record(target, passed(clock.now(), lagMs))
    t.same(reports, ['0 reported', '0 missing', '1 missing'], 'a first probe with a lag is no change; a failed probe is none either')
    health.record(targets[1]!, { ok: false, error: 'ECONNREFUSED', at: clock.now() })
    t.same(reports.length, 3)
  })

  t.test("a JSON lag body cut short leaves the last valid lag standing, either way", async (t) => {
    const { runtime, pool, health, targets, clock } = checked(t)
    health.setMaxLagMs(1000)
    runtime.start()
    health.record(targets[0]!, passed(clock.now(), 10))
    health.record(targets[0]!, { ok: true, status: 200, at: clock.now(), lagUnknown: true })
    t.equal(pool.state(targets[0]!), 'healthy')
    health.record(targets[1]!, passed(clock.now(), 5000))
    health.record(targets[1]!, { ok: true, status: 200, at: clock.now(), lagUnknown: true })
    t.equal(pool.state(targets[1]!), 'lagging')
  })
})
