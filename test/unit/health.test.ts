// Active health checks and their probes: each subtest is one behaviour, named as its file was.
import t, { type Test } from 'tap'
import { buildPools, PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { buildPool, poolConfig, type PoolFixture } from './config-fixtures.ts'
import { refusingUrls } from './proxy-fakes.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import type { Dispatcher } from 'undici'
import { LAG_HEADER, ProbeExchange } from '../../src/health/probe.ts'
import { ActiveHealthChecker, type ProbeResult } from '../../src/health/active.ts'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import { PROBE_SLOT_MS, SlotTimers, slotTimersFor } from '../../src/health/slot-timers.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { Target } from '../../src/upstream/target.ts'
import { OutlierDetector } from '../../src/health/outlier.ts'
import type { TargetStatus } from '../../src/upstream/status.ts'
import type { Clock } from '../../src/runtime.ts'
import { once } from 'node:events'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net'
import { CertificateMaker } from '../helpers/certificates.ts'
import { statusMatcher } from '../../src/health/expect-status.ts'

// The health-check result path (health/active.ts): record() applies thresholds both ways, firstRound() resolves
// once every target has a result, lastResult() keeps the last one; and what a probe reports, on a manual clock:
// a probe that outlasts timeoutMs is error 'timeout', a status outside expectStatus is ok: false with its status.
t.test('health-active-record', async (t) => {
  const INTERVAL = 10_000
  // long enough that undici's own probe timeouts (real time, from timeoutMs) never fire: the manual clock decides
  const TIMEOUT = 5_000

  /** A started health checker on a manual clock; every first probe is due at once (random 0), none fires unless the clock moves. */
  function checked (t: Test, healthCheck: Record<string, unknown> = {}, targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']) {
    const clock = new ManualClock()
    const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT, jitter: 0, ...healthCheck } }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    runtime.start()
    return { clock, runtime, pool: runtime.pool, health: runtime.health!, targets: runtime.pool.targets }
  }

  const ok = (at: number, status = 200): ProbeResult => ({ ok: true, status, at })
  const failed = (at: number, status = 503): ProbeResult => ({ ok: false, status, at })

  t.test('record(): consecutive results against the thresholds decide each status change, both ways', async (t) => {
    // sequences of probe results (T ok, F failed) for one target → the status changes, at the result that caused them
    const cases: [thresholds: { healthyThreshold: number; unhealthyThreshold: number }, results: string, changes: string[]][] = [
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'TTTT', []],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FF', []],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFF', ['2 down']],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFFF', ['2 down']],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFTFF', []],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFTFFF', ['5 down']],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFT', ['2 down']],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFTT', ['2 down', '4 up']],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFTFTT', ['2 down', '6 up']],
      [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFTTTFFF', ['2 down', '4 up', '8 down']],
      [{ healthyThreshold: 1, unhealthyThreshold: 1 }, 'FTF', ['0 down', '1 up', '2 down']],
      [{ healthyThreshold: 3, unhealthyThreshold: 1 }, 'FTTFTTT', ['0 down', '6 up']],
    ]
    for (const [thresholds, results, changes] of cases) {
      const { pool, health, targets, clock } = checked(t, thresholds)
      const target = targets[0]!
      const seen: string[] = []
      let index = 0
      pool.on('status', (changed, status, previous) => {
        if (changed === target && status.healthy !== previous.healthy) seen.push(`${index} ${status.healthy ? 'up' : 'down'}`)
      })
      for (; index < results.length; index++) health.record(target, results[index] === 'T' ? ok(clock.now()) : failed(clock.now()))
      t.same(seen, changes, `${thresholds.healthyThreshold}/${thresholds.unhealthyThreshold} ${results}`)
      t.equal(pool.status(target).healthy, changes.length === 0 || changes.at(-1)!.endsWith('up'), `${results}: ends ${pool.status(target).healthy ? 'healthy' : 'unhealthy'}`)
      t.same(targets.slice(1).map((x) => pool.status(x).healthy), [true, true], 'the other targets are untouched')
    }
  })

  t.test('record() only changes health: a disabled target stays disabled either way', async (t) => {
    const { pool, health, targets, clock } = checked(t, { healthyThreshold: 1, unhealthyThreshold: 1 })
    const target = targets[0]!
    pool.setStatus(target, { disabled: true })
    health.record(target, failed(clock.now()))
    t.same([pool.status(target).healthy, pool.status(target).disabled], [false, true], 'unhealthy, still disabled')
    health.record(target, ok(clock.now()))
    t.same([pool.status(target).healthy, pool.status(target).disabled], [true, true], 'healthy, still disabled')
    t.equal(pool.state(target), 'disabled')
  })

  t.test('firstRound() resolves once every target has a result, whatever it was', async (t) => {
    const { health, targets, clock } = checked(t)
    let resolved = false
    void health.firstRound().then(() => { resolved = true })
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
    const steps: [target: number, result: ProbeResult, resolvedAfter: boolean][] = [
      [0, ok(clock.now()), false],
      [0, failed(clock.now()), false], // the same target again is not another target
      [1, failed(clock.now()), false],
      [2, { ok: false, error: 'ECONNREFUSED', at: clock.now() }, true],
    ]
    for (const [i, result, resolvedAfter] of steps) {
      health.record(targets[i]!, result)
      await settle()
      t.equal(resolved, resolvedAfter, `after a result for target ${i + 1}: ${resolvedAfter ? 'resolved' : 'pending'}`)
    }
  })

  t.test('firstRound() does not hang readiness: resolved before start() and by stop()', async (t) => {
    const clock = new ManualClock()
    const runtime = new PoolRuntime('p', poolConfig({ healthCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT } }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    const health = runtime.health!
    await health.firstRound() // before start(): nothing to wait for
    health.start()
    let resolved = false
    void health.firstRound().then(() => { resolved = true })
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(resolved, false, 'pending while the target has no result')
    health.stop()
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(resolved, true, 'stop() resolves it')
    t.same(clock.dueIn(), [], 'and clears every probe timer')
  })

  t.test('lastResult(): the last recorded result per target, nothing for a target it does not check', async (t) => {
    const { health, targets, clock } = checked(t)
    const other = checked(t).targets[0]!
    t.equal(health.lastResult(targets[0]!), undefined, 'nothing before a probe')
    const first = failed(clock.now())
    health.record(targets[0]!, first)
    t.equal(health.lastResult(targets[0]!), first)
    clock.advance(1)
    const second = ok(clock.now(), 204)
    health.record(targets[0]!, second)
    t.equal(health.lastResult(targets[0]!), second)
    t.equal(health.lastResult(targets[1]!), undefined)
    health.record(other, failed(clock.now()))
    t.equal(health.lastResult(other), undefined, "another pool's target is ignored")
    health.stop()
    t.equal(health.lastResult(targets[0]!), undefined, 'forgotten once stopped')
  })

  /** A real server whose /health hangs or answers the status it is told; closed in teardown. */
  async function healthServer (t: Test) {
    const state = { hang: false, status: 200, probes: 0 }
    const { url } = await serveOnLoopback(t, (_req, res) => {
      state.probes++
      if (!state.hang) res.writeHead(state.status).end()
    })
    return { state, url }
  }

  t.test('a probe that outlasts timeoutMs on the clock reports error timeout', async (t) => {
    const server = await healthServer(t)
    server.state.hang = true
    const { health, targets, clock } = checked(t, {}, [server.url])
    const target = targets[0]!
    clock.advance(0)
    await waitFor(() => server.state.probes === 1)
    t.same(clock.dueIn(), [TIMEOUT], 'the probe runs under its timeout')
    clock.advance(TIMEOUT - 1)
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(health.lastResult(target), undefined, 'no result 1 ms before timeoutMs')
    clock.advance(1)
    await waitFor(() => health.lastResult(target) !== undefined)
    t.same(health.lastResult(target), { ok: false, error: 'timeout', at: clock.now() })
    t.same(clock.dueIn(), [INTERVAL], 'the next probe is one interval later')
  })

  t.test('what a probe reports: its status against expectStatus, or the error code of no answer', async (t) => {
    const cases: [expectStatus: (number | string)[] | undefined, status: number, ok: boolean][] = [
      [undefined, 200, true],
      [undefined, 302, true], // default ['200-399']: a range
      [undefined, 399, true],
      [undefined, 404, false],
      [undefined, 503, false],
      [['200-204'], 203, true], // a range
      [[204, 200], 200, true], // numbers: a list
      [[204, 200], 204, true],
      [[204, 200], 203, false],
      [[200], 200, true],
      [[200], 201, false],
    ]
    const server = await healthServer(t)
    for (const [expectStatus, status, expectedOk] of cases) {
      server.state.status = status
      const { health, targets, clock } = checked(t, expectStatus === undefined ? {} : { expectStatus }, [server.url])
      clock.advance(0)
      await waitFor(() => health.lastResult(targets[0]!) !== undefined)
      t.same(health.lastResult(targets[0]!), { ok: expectedOk, status, at: clock.now() }, `${status} against ${JSON.stringify(expectStatus ?? ['200-399'])}`)
    }
    const [refused] = await refusingUrls(1)
    const { health, targets, clock } = checked(t, {}, [refused!])
    clock.advance(0)
    await waitFor(() => health.lastResult(targets[0]!) !== undefined)
    t.same(health.lastResult(targets[0]!), { ok: false, error: 'ECONNREFUSED', at: clock.now() }, 'a refused connection')
  })

  t.test('a new maxLagMs (a reload) judges the lag each target last reported at once, not from its next probe', async (t) => {
    const { pool, health, targets, clock } = checked(t, { unhealthyThreshold: 1 })
    const [behind, inSync, unprobed] = targets as [typeof targets[0], typeof targets[0], typeof targets[0]]
    health.setMaxLagMs(10_000)
    health.record(behind, { ...ok(clock.now()), lagMs: 5000 })
    health.record(inSync, { ...ok(clock.now()), lagMs: 100 })
    t.same(targets.map((x) => pool.state(x)), ['healthy', 'healthy', 'lagging'], 'within 10 s; a target with no lag reported yet is lagging')
    health.setMaxLagMs(1000)
    t.same(targets.map((x) => pool.state(x)), ['lagging', 'healthy', 'lagging'], 'over the new 1 s at once')
    health.setMaxLagMs(undefined)
    t.notOk(pool.status(behind).lagging, 'lag no longer judged: in at once')
    health.setMaxLagMs(1000)
    t.ok(pool.status(behind).lagging, 'and out again under a limit')
    health.setMaxLagMs(10_000)
    t.notOk(pool.status(behind).lagging, 'a raised limit lets it back at once')
    // marked unhealthy, it missed the writes made while out: the lag it reported before is forgotten
    health.record(behind, failed(clock.now()))
    t.equal(pool.state(behind), 'unhealthy')
    health.setMaxLagMs(20_000)
    t.ok(pool.status(behind).lagging && pool.status(behind).lagUnknown, 'a failed probe that marks it unhealthy forgets the reported lag')
    t.equal(pool.state(unprobed), 'lagging', 'still no lag reported')
    health.setMaxLagMs(undefined)
    t.equal(pool.state(unprobed), 'healthy', 'lag no longer judged')
  })
})

// A target a reload carries over unhealthy (its pool rebuilt, or the target rebuilt for a new weight) needs
// healthyThreshold passing probes to be back, as it would have without the reload. Only a target that joined
// unchecked (a new DNS address in a checked pool) is in after its first passing probe.
t.test('health-carried-threshold', async (t) => {
  // probes never fire (the manual clock does not move): results are recorded by hand
  const healthCheck = { path: '/health', intervalMs: 10_000, timeoutMs: 5_000, healthyThreshold: 3, unhealthyThreshold: 1, jitter: 0 }
  const ok = (at: number): ProbeResult => ({ ok: true, status: 200, at })
  const failed = (at: number): ProbeResult => ({ ok: false, status: 503, at })

  function config (pool: Record<string, unknown>) {
    return validateConfig({ pools: { p: { healthCheck, ...pool } }, routes: [{ path: '/', pool: 'p' }] })
  }

  /** Passing probes until the target is healthy again (at most 5): how many it took. */
  function passesToHealthy (rt: PoolRuntime, url: string, clock: ManualClock): number {
    for (let n = 1; n <= 5; n++) {
      const target = rt.pool.targets.find((x) => x.url === url)!
      rt.health!.record(target, ok(clock.now()))
      if (rt.pool.status(target).healthy) return n
    }
    return Infinity
  }

  function unhealthyFirst (t: Test, pool: Record<string, unknown>, clock: ManualClock) {
    const before = buildPools(config(pool), { clock, random: () => 0 }).pools
    const old = before.get('p')!
    void old.start()
    t.teardown(() => old.close())
    old.health!.record(old.pool.targets[0]!, failed(clock.now()))
    t.equal(old.pool.state(old.pool.targets[0]!), 'unhealthy')
    return before
  }

  /** A checked pool discovering `name`, started, that a second address (127.0.0.3) then joins, unchecked. */
  async function joinedAddress (t: Test, name: string) {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(name, { a: ['127.0.0.2'] })
    const clock = new ManualClock()
    const rt = buildPools(config({ targets: [{ dns: name, port: 9, refreshMs: 30 }] }), { clock, random: () => 0, dnsServers: [dns.address] }).pools.get('p')!
    t.teardown(() => rt.close())
    // the first round of probes (refused: nothing listens) runs once the first lookup is done and the clock moves
    let started = false
    void rt.start().then(() => { started = true })
    await waitFor(() => { clock.advance(0); return started })
    dns.set(name, { a: ['127.0.0.2', '127.0.0.3'] })
    await waitFor(() => rt.pool.targets.length === 2)
    const joined = rt.pool.targets.find((x) => x.url === 'http://127.0.0.3:9')!
    t.equal(rt.pool.state(joined), 'unhealthy', 'joins unchecked')
    return { rt, joined, clock }
  }

  t.test('a pool rebuilt by a reload: a carried-over unhealthy target needs healthyThreshold passes', async (t) => {
    const clock = new ManualClock()
    const targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2']
    const before = unhealthyFirst(t, { targets, timeouts: { requestMs: 30_000 } }, clock)
    const { pools } = buildPools(config({ targets, timeouts: { requestMs: 20_000 } }), { clock, random: () => 0 }, before)
    const rt = pools.get('p')!
    t.teardown(() => rt.close())
    t.not(rt, before.get('p'), 'rebuilt')
    void rt.start()
    t.equal(rt.pool.state(rt.pool.targets[0]!), 'unhealthy', 'carried over')
    t.equal(passesToHealthy(rt, targets[0]!, clock), 3)
  })

  t.test('a target rebuilt for a new weight: a carried-over unhealthy status needs healthyThreshold passes', async (t) => {
    const clock = new ManualClock()
    const before = unhealthyFirst(t, { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] }, clock)
    const { pools } = buildPools(config({ targets: [{ url: 'http://127.0.0.1:1', weight: 5 }, 'http://127.0.0.1:2'] }), { clock, random: () => 0 }, before)
    const rt = pools.get('p')!
    t.equal(rt, before.get('p'), 'the same pool runtime')
    t.equal(rt.pool.state(rt.pool.targets[0]!), 'unhealthy', 'carried over')
    t.equal(passesToHealthy(rt, 'http://127.0.0.1:1', clock), 3)
  })

  t.test('a DNS address joining a checked pool is in after its first passing probe', async (t) => {
    const { rt, joined, clock } = await joinedAddress(t, 'join.threshold.test')
    t.equal(passesToHealthy(rt, joined.url, clock), 1)
  })

  // A DNS address joining a checked pool is in after one passing probe only if that is its first probe
  // (health/active.ts): once a probe of it has failed, it is a target with a failing record like any other and needs
  // healthyThreshold consecutive passes. Letting any later single pass in would put a flapping new address into
  // rotation on its first lucky answer.
  t.test('a joined address whose first probe failed needs healthyThreshold passes', async (t) => {
    const { rt, joined, clock } = await joinedAddress(t, 'join.first-fails.test')
    rt.health!.record(joined, failed(clock.now()))
    const states: string[] = []
    for (let n = 0; n < 3; n++) {
      rt.health!.record(joined, ok(clock.now()))
      states.push(rt.pool.state(joined))
    }
    t.same(states, ['unhealthy', 'unhealthy', 'healthy'], 'in at the third consecutive pass after the failure')
  })
})

// A probe body read only to be dropped is cut past 128 KiB (health/probe.ts), as undici's body.dump() does: one of
// exactly 128 KiB, by its content-length or as it arrives chunked, is still read to its end, so the probe's
// kept-alive connection stays for the next probe instead of being given up (a new connection per probe).
t.test('health-dropped-body-128k', async (t) => {
  class FakeController {
    aborted: Error | undefined
    abort (reason: Error): void { this.aborted = reason }
  }

  t.test('a dropped body of exactly 128 KiB is read whole: the connection is not given up', async (t) => {
    const LIMIT = 128 * 1024
    const cases: [name: string, headers: Record<string, string>][] = [
      ['by content-length', { 'content-type': 'text/plain', 'content-length': String(LIMIT) }],
      ['chunked', { 'content-type': 'text/plain' }],
    ]
    for (const [name, headers] of cases) {
      const exchange = new ProbeExchange()
      const controller = new FakeController()
      const c = controller as unknown as Dispatcher.DispatchController
      exchange.onRequestStart(c)
      exchange.onResponseStart(c, 200, headers)
      for (let sent = 0; sent < LIMIT; sent += 16 * 1024) exchange.onResponseData(c, Buffer.alloc(16 * 1024, 'x'))
      t.equal(controller.aborted, undefined, `${name}: not cut at 128 KiB`)
      exchange.onResponseEnd()
      t.same(await exchange.answer, { status: 200 }, `${name}: the status is the answer`)
    }
  })
})

// A failed probe says nothing of lag (health/active.ts), even when its answer carries a lag header (a replica
// answering 503 while it reports 10 ms): a replica known to be far behind stays out of reads until a passing probe
// reports it caught up. Taking the failing answer's lag would put a lagging replica back into reads on a probe
// that failed, while it is still healthy by unhealthyThreshold.
t.test('health-failed-probe-lag-ignored', async (t) => {
  t.test('the lag on a failed probe does not change whether a replica is lagging', async (t) => {
    const clock = new ManualClock()
    // the clock never moves: no probe is sent, results are recorded by the test
    const runtime = new PoolRuntime('p', poolConfig({ targets: ['http://127.0.0.1:1'], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, unhealthyThreshold: 3 } }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    void runtime.start()
    const health = runtime.health!
    const target = runtime.pool.targets[0]!
    const reports: boolean[] = []
    health.on('lagReport', (_target, reported) => reports.push(reported))
    health.setMaxLagMs(1000)
    const behind: ProbeResult = { ok: true, status: 200, lagMs: 5000, at: clock.now() }
    health.record(target, behind)
    t.equal(runtime.pool.state(target), 'lagging', '5000 ms behind')
    const failedInSync: ProbeResult = { ok: false, status: 503, lagMs: 10, at: clock.now() }
    health.record(target, failedInSync)
    t.equal(runtime.pool.status(target).healthy, true, 'still healthy: one failure of three')
    t.equal(runtime.pool.state(target), 'lagging', 'still lagging: the failed probe reported nothing')
    health.record(target, { ok: false, status: 503, at: clock.now() })
    t.same(reports, [], 'no lag-report change from failed probes')
  })
})

// The health checker's first round: each subtest is one behaviour, named as its file was.
t.test('health-first', async (t) => {
  // When the first health probes are due (health/active.ts): within 0.1 ms per target of the pool, at most 20 ms and
  // never past intervalMs, so a pool is ready soon and a big one is still not probed in a single tick.
  t.test('health-first-probe', async (t) => {
    t.test('the first probes are spread over 0.1 ms per target, up to 20 ms and intervalMs', async (t) => {
      const cases: [targets: number, intervalMs: number, latestMs: number][] = [
        [1, 10_000, 0.1],
        [2, 10_000, 0.2],
        [50, 10_000, 5],
        [200, 10_000, 20],
        [500, 10_000, 20],
        [100, 5, 5],
      ]
      for (const [count, intervalMs, latestMs] of cases) {
        const clock = new ManualClock()
        const targets = Array.from({ length: count }, (_, i) => `http://127.0.0.1:${i + 1}`)
        // the random source at its top: every first probe as late as the spread allows; the clock never moves, so none is sent
        const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs, timeoutMs: intervalMs, jitter: 0 } }), { clock, random: () => 0.999 })
        void runtime.start()
        const due = clock.dueIn()
        t.equal(due.length, count, `${count} targets: one first probe each`)
        // (the manual clock's epoch-sized start leaves float noise in dueIn)
        t.ok(Math.abs(Math.max(...due) - latestMs * 0.999) < 1e-6, `${count} targets, intervalMs ${intervalMs}: the last one due at ${latestMs * 0.999} ms (${Math.max(...due)})`)
        await runtime.close()
      }
    })
  })

  // A health checker started on a pool with no targets yet (a DNS pool whose first answer had no address) has
  // nothing to wait for: firstRound() resolves at once (health/active.ts), or the gateway's readiness would wait for
  // a probe that is never sent.
  t.test('health-first-round-empty-pool', async (t) => {
    t.test('firstRound() of a checker started on an empty pool resolves without any probe', async (t) => {
      const clock = new ManualClock()
      const config = poolConfig({ healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 } })
      const pool = new UpstreamPool('p', config, [], new RoundRobinBalancer(), clock)
      const checker = new ActiveHealthChecker(pool, config.healthCheck!, { clock, random: () => 0 })
      t.teardown(async () => { checker.stop(); await pool.close() })
      checker.start()
      let resolved = false
      void checker.firstRound().then(() => { resolved = true })
      await new Promise((resolve) => setImmediate(resolve))
      t.equal(resolved, true, 'resolved with no target to probe')
      t.equal(clock.pendingTimers, 0, 'and nothing armed')
    })
  })

  // A target removed (a reload, a DNS answer) before its first probe is not waited for: firstRound() resolves once
  // every target still in the pool has a result (health/active.ts). Otherwise the gateway's readiness would wait for
  // a probe of a target it no longer checks, until the checker stops.
  t.test('health-first-round-removed-target', async (t) => {
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

    t.test('firstRound() resolves when the last unprobed target is removed', async (t) => {
      const clock = new ManualClock()
      // the clock never moves: no probe is sent, results are recorded by the test
      const runtime = new PoolRuntime('p', poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 } }), { clock, random: () => 0 })
      t.teardown(() => runtime.close())
      void runtime.start()
      const health = runtime.health!
      const [kept, removed] = runtime.pool.targets as [typeof runtime.pool.targets[0], typeof runtime.pool.targets[0]]
      let resolved = false
      void health.firstRound().then(() => { resolved = true })
      const ok: ProbeResult = { ok: true, status: 200, at: clock.now() }
      health.record(kept, ok)
      await settle()
      t.equal(resolved, false, 'pending: the second target has no result')
      runtime.pool.setTargets([kept])
      await settle()
      t.equal(resolved, true, 'resolved once the unprobed target is removed')
      t.equal(health.lastResult(removed), undefined, 'the removed target is no longer checked')
    })
  })
})

// Probes after the first are jittered around intervalMs (health/active.ts): due between intervalMs * (1 - jitter/2)
// and intervalMs * (1 + jitter/2), so the configured interval stays the mean probe period. A window shifted down to
// intervalMs * (1 - jitter) would probe every target more often than configured, on average, for every pool.
t.test('health-jitter-window', async (t) => {
  const INTERVAL = 10_000
  const JITTER = 0.5

  t.test('the next probe is due within intervalMs * (1 ± jitter/2), on the slot grid', async (t) => {
    const { url } = await serveOnLoopback(t, (_req, res) => res.end('ok'))
    // the random source at its bottom and at its top: the two ends of the window
    const cases: [random: number, earliest: number][] = [
      [0, INTERVAL * (1 - JITTER / 2)],
      [0.999, INTERVAL * (1 - JITTER / 2 + 0.999 * JITTER)],
    ]
    for (const [random, earliest] of cases) {
      const clock = new ManualClock()
      const runtime = new PoolRuntime('p', poolConfig({ targets: [url], healthCheck: { intervalMs: INTERVAL, timeoutMs: 5_000, jitter: JITTER } }), { clock, random: () => random })
      t.teardown(() => runtime.close())
      void runtime.start()
      const target = runtime.pool.targets[0]!
      clock.advance(1) // the first probe (due within 0.1 ms)
      await waitFor(() => runtime.health!.lastResult(target) !== undefined)
      const due = clock.dueIn()
      t.equal(due.length, 1, 'one probe armed')
      // a probe runs at the first slot boundary at or after its due time
      t.ok(due[0]! >= earliest - 1e-6 && due[0]! < earliest + PROBE_SLOT_MS, `random ${random}: due in ${due[0]} ms, expected ${earliest} ms up to one slot later`)
    }
  })
})

// Replication lag reported by health checks: each subtest is one behaviour, named as its file was.
t.test('health-lag', async (t) => {
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
})

// Outlier detection (src/health/outlier.ts): each subtest is one behaviour, named as its file was.
t.test('health-outlier', async (t) => {
  // A target that leaves the pool (a reload, a DNS answer without it) must be forgotten by outlier detection entirely:
  // its ejection history too, not only its failure count. Kept, every target that was ever ejected would stay in the
  // detector's maps, with its closed connection pools, for as long as the pool runs (a DNS-discovered pool churns
  // through addresses); and an object handed back to the pool later would start with the old ejection multiplier.
  // Pins src/health/outlier.ts's 'targets' handler `this.#timesEjected.delete(t)` (line 27).
  t.test('health-outlier-removed-target-forgotten', async (t) => {
    const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 10_000, maxEjectionPercent: 50 }

    t.test('a removed target loses its ejection history', async (t) => {
      const f = buildPool(['p1', 'p2', 'p3', 'p4'], { outlier: OUTLIER })
      t.teardown(() => f.pool.close())
      const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
      const { p1, p2, p3, p4 } = f.byName
      const fail = (n: number): void => { for (let i = 0; i < n; i++) detector.failure(p1!) }
      fail(3)
      t.equal(detector.timesEjected(p1!), 1, 'ejected once')
      f.clock.advance(1000)
      fail(3)
      t.equal(detector.timesEjected(p1!), 2, 'twice')
      t.equal(f.pool.status(p1!).ejectedUntil - f.clock.now(), 2000, 'the second for 2 × baseEjectionMs')
      f.pool.setTargets([p2!, p3!, p4!])
      t.equal(detector.timesEjected(p1!), 0, 'forgotten once the pool drops it')
      // handed back (the pool keeps targets by identity): it starts over
      f.clock.advance(2000)
      f.pool.setTargets([p1!, p2!, p3!, p4!])
      fail(3)
      t.equal(detector.timesEjected(p1!), 1, 'a first ejection again')
      t.equal(f.pool.status(p1!).ejectedUntil - f.clock.now(), 1000, 'for baseEjectionMs')
    })
  })

  // The ejection cap counts the targets already out of service besides the one failing: the failing target itself is
  // the one ejection being weighed, whether or not something else (a health check, a drain, an operator, lag) has
  // taken it out already. A primary that health checks just failed keeps failing the requests it had in flight; with a
  // backup available and the pool within maxEjectionPercent it is ejected exactly as when it was still healthy, so the
  // ejection (and its growing duration) holds it out once health checks pass it again. Counted twice, it was never
  // ejected and came straight back on the next passing probe.
  t.test('health-outlier-self-out', async (t) => {
    const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 2500 }

    // how the failing target is already out (or not), as a status change
    const OUT_BY: [reason: string, change: Partial<TargetStatus>][] = [
      ['in service', {}],
      ['failed by health checks', { healthy: false }],
      ['draining', { draining: true }],
      ['disabled', { disabled: true }],
      ['lagging', { lagging: true }],
    ]

    // [pool (names starting with 'b' are backups), maxEjectionPercent]: p1, the one primary, fails; the pool stays within the cap
    const POOLS: [names: string[], cap: number][] = [
      [['p1', 'b1'], 50],
      [['p1', 'b1', 'b2'], 34],
      [['p1', 'b1', 'b2', 'b3'], 25],
    ]

    t.test('a primary already out for another reason is ejected like one still in service', async (t) => {
      for (const [names, cap] of POOLS) {
        for (const [reason, change] of OUT_BY) {
          const f = buildPool(names, { outlier: { ...OUTLIER, maxEjectionPercent: cap } })
          t.teardown(() => f.pool.close())
          const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
          const p1 = f.byName.p1!
          f.pool.setStatus(p1, change)
          for (let i = 0; i < 3; i++) detector.failure(p1)
          const label = `${names.join(',')} cap ${cap}%, p1 ${reason}`
          t.equal(f.pool.status(p1).ejectedUntil, f.clock.now() + 1000, `${label}: ejected for baseEjectionMs`)
          t.equal(detector.skipped, 0, `${label}: not refused by the cap`)
          f.pool.setStatus(p1, { healthy: true, draining: false, disabled: false, lagging: false })
          t.notOk(f.pool.available().includes(p1), `${label}: back in service by its other status, still out by the ejection`)
        }
      }
    })

    t.test('the cap still holds against the other targets out of service', async (t) => {
      // p1 fails while b1 is out too: 2 of 2 would be out, over the 50% cap, whatever p1's own status
      for (const [reason, change] of OUT_BY) {
        const f = buildPool(['p1', 'b1'], { outlier: { ...OUTLIER, maxEjectionPercent: 50 } })
        t.teardown(() => f.pool.close())
        const detector = new OutlierDetector(f.pool.config.outlier, f.pool, f.clock)
        const p1 = f.byName.p1!
        f.pool.setStatus(f.byName.b1!, { healthy: false })
        f.pool.setStatus(p1, change)
        for (let i = 0; i < 3; i++) detector.failure(p1)
        t.equal(f.pool.status(p1).ejectedUntil, 0, `p1 ${reason}: not ejected`)
        t.equal(detector.skipped, 1, `p1 ${reason}: refused by the cap`)
      }
    })
  })


  t.test('health-outlier', async (t) => {
    const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 2500, maxEjectionPercent: 50 }

    function setup (t: { teardown: (fn: () => Promise<void>) => void }, names: string[], outlier: Record<string, unknown> = {}): PoolFixture & { detector: OutlierDetector } {
      const f = buildPool(names, { outlier: { ...OUTLIER, ...outlier } })
      t.teardown(() => f.pool.close())
      return { ...f, detector: new OutlierDetector(f.pool.config.outlier, f.pool, f.clock) }
    }

    const failTimes = (d: OutlierDetector, target: Target, n: number): void => { for (let i = 0; i < n; i++) d.failure(target) }
    const ejected = (f: PoolFixture, target: Target): boolean => f.pool.status(target).ejectedUntil > f.clock.now()

    t.test('consecutive failures eject', async (t) => {
      const f = setup(t, ['p1', 'p2'])
      const { p1 } = f.byName
      failTimes(f.detector, p1!, 2)
      t.equal(ejected(f, p1!), false, '2 of 3: not yet')
      f.detector.failure(p1!)
      t.equal(ejected(f, p1!), true, '3rd consecutive failure ejects')
      t.equal(f.pool.status(p1!).ejectedUntil, f.clock.now() + 1000, 'for baseEjectionMs')
      t.equal(f.detector.timesEjected(p1!), 1)
      t.notOk(f.pool.available().includes(p1!), 'the pool stops using it')
      t.equal(f.statuses.length, 1, 'one status change')
    })

    t.test('a success resets the count', async (t) => {
      const f = setup(t, ['p1', 'p2'])
      const { p1 } = f.byName
      const pattern = ['f', 'f', 's', 'f', 'f', 's', 'f', 'f']
      for (const step of pattern) step === 'f' ? f.detector.failure(p1!) : f.detector.success(p1!)
      t.equal(ejected(f, p1!), false, 'never 3 in a row')
      f.detector.failure(p1!)
      t.equal(ejected(f, p1!), true, 'now 3 in a row')
      f.detector.success(p1!) // harmless when nothing is counted
    })

    t.test('failures of one target do not count for another', async (t) => {
      const f = setup(t, ['p1', 'p2', 'p3', 'p4'])
      const { p1, p2 } = f.byName
      for (let i = 0; i < 2; i++) { f.detector.failure(p1!); f.detector.failure(p2!) }
      t.equal(ejected(f, p1!) || ejected(f, p2!), false)
    })

    t.test('ejection duration = base × times ejected, capped by maxEjectionMs', async (t) => {
      const f = setup(t, ['p1', 'p2'])
      const { p1 } = f.byName
      const expected = [1000, 2000, 2500, 2500]
      for (const [i, duration] of expected.entries()) {
        const at = f.clock.now()
        failTimes(f.detector, p1!, 3)
        t.equal(f.pool.status(p1!).ejectedUntil - at, duration, `ejection ${i + 1}: ${duration} ms`)
        t.equal(f.detector.timesEjected(p1!), i + 1)
        f.clock.set(f.pool.status(p1!).ejectedUntil) // expires
        t.equal(ejected(f, p1!), false, `ejection ${i + 1} expired`)
        t.ok(f.pool.available().includes(p1!), 'back in the pool')
      }
    })

    t.test('maxEjectionMs below base still ejects for base', async (t) => {
      const f = setup(t, ['p1', 'p2'], { baseEjectionMs: 1000, maxEjectionMs: 500 })
      const at = f.clock.now()
      failTimes(f.detector, f.byName.p1!, 3)
      t.equal(f.pool.status(f.byName.p1!).ejectedUntil - at, 1000)
    })

    t.test('failures while ejected do not extend the ejection', async (t) => {
      const f = setup(t, ['p1', 'p2'])
      const { p1 } = f.byName
      failTimes(f.detector, p1!, 3)
      const until = f.pool.status(p1!).ejectedUntil
      failTimes(f.detector, p1!, 7)
      t.equal(f.pool.status(p1!).ejectedUntil, until, 'not extended')
      t.equal(f.detector.timesEjected(p1!), 1)
      f.clock.set(until)
      f.detector.success(p1!)
      failTimes(f.detector, p1!, 3)
      t.equal(f.pool.status(p1!).ejectedUntil, until + 2000, 'the next run of failures ejects again, for longer')
    })

    t.test('maxEjectionPercent is never exceeded per tier, nor over the pool for a primary before a backup', async (t) => {
      const cases: { name: string; names: string[]; percent: number; failing: string[]; ejected: string[] }[] = [
        { name: '1 of 2 at 50%', names: ['p1', 'p2'], percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
        { name: 'a single-target tier is never ejected at 50%', names: ['p1', 'p2'], percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
        { name: 'a single backup is never ejected at 50%', names: ['p1', 'b1'], percent: 50, failing: ['b1'], ejected: [] },
        // the failover Active-Standby is for: without health checks nothing else would move traffic to the backups.
        // Past its tier's cap a primary goes if the whole pool stays within it (Envoy counts the cluster)
        { name: 'the last primary before a backup is ejected (1 of 2 in the pool)', names: ['p1', 'b1'], percent: 50, failing: ['p1'], ejected: ['p1'] },
        { name: 'the last primary before two backups is ejected (1 of 3)', names: ['p1', 'b1', 'b2'], percent: 50, failing: ['p1'], ejected: ['p1'] },
        { name: 'two of three primaries before a backup (2 of 4), not the third', names: ['p1', 'p2', 'p3', 'b1'], percent: 50, failing: ['p1', 'p2', 'p3'], ejected: ['p1', 'p2'] },
        { name: 'two primaries before one unchecked backup: not both (2 of 3)', names: ['p1', 'p2', 'b1'], percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
        { name: 'a cap of 0 ejects no primary, backups or not', names: ['p1', 'b1'], percent: 0, failing: ['p1'], ejected: [] },
        { name: '2 of 4 at 50%', names: ['p1', 'p2', 'p3', 'p4'], percent: 50, failing: ['p1', 'p2', 'p3', 'p4'], ejected: ['p1', 'p2'] },
        { name: '1 of 4 at 25%', names: ['p1', 'p2', 'p3', 'p4'], percent: 25, failing: ['p4', 'p3'], ejected: ['p4'] },
        { name: '1 of 3 at 50% (2 of 3 would be 67%)', names: ['p1', 'p2', 'p3'], percent: 50, failing: ['p1', 'p2', 'p3'], ejected: ['p1'] },
        { name: 'tiers are counted apart', names: ['p1', 'p2', 'b1', 'b2'], percent: 50, failing: ['p1', 'b1', 'p2', 'b2'], ejected: ['p1', 'b1'] },
        { name: '100% allows all', names: ['p1', 'p2'], percent: 100, failing: ['p1', 'p2'], ejected: ['p1', 'p2'] },
        { name: '0% allows none', names: ['p1', 'p2'], percent: 0, failing: ['p1', 'p2'], ejected: [] },
      ]
      for (const c of cases) {
        const f = setup(t, c.names, { maxEjectionPercent: c.percent })
        for (const n of c.failing) failTimes(f.detector, f.byName[n]!, 3)
        const out = c.names.filter((n) => ejected(f, f.byName[n]!))
        t.strictSame(out, c.ejected, c.name)
        t.equal(f.detector.skipped, c.failing.length - c.ejected.length, `${c.name}: refusals counted`)
      }
    })

    t.test('targets out of service for other reasons count against maxEjectionPercent', async (t) => {
      // the tier's last available target is never ejected at 50%: that would leave the pool with nothing to serve
      const cases: { name: string; names: string[]; out: Record<string, Record<string, unknown>>; percent: number; failing: string[]; ejected: string[] }[] = [
        { name: 'the other primary unhealthy', names: ['p1', 'p2'], out: { p1: { healthy: false } }, percent: 50, failing: ['p2'], ejected: [] },
        { name: 'the other primary draining', names: ['p1', 'p2'], out: { p1: { draining: true } }, percent: 50, failing: ['p2'], ejected: [] },
        { name: 'the other primary disabled', names: ['p1', 'p2'], out: { p1: { disabled: true } }, percent: 50, failing: ['p2'], ejected: [] },
        { name: '1 of 4 unhealthy: one more ejection (2 of 4 out), not two', names: ['p1', 'p2', 'p3', 'p4'], out: { p1: { healthy: false } }, percent: 50, failing: ['p2', 'p3'], ejected: ['p2'] },
        { name: 'a backup out does not count for the primaries', names: ['p1', 'p2', 'b1'], out: { b1: { healthy: false } }, percent: 50, failing: ['p1'], ejected: ['p1'] },
        { name: 'no backup available: the primaries keep their cap', names: ['p1', 'p2', 'b1'], out: { b1: { disabled: true } }, percent: 50, failing: ['p1', 'p2'], ejected: ['p1'] },
        { name: '100% still allows it', names: ['p1', 'p2'], out: { p1: { healthy: false } }, percent: 100, failing: ['p2'], ejected: ['p2'] },
      ]
      for (const c of cases) {
        const f = setup(t, c.names, { maxEjectionPercent: c.percent })
        for (const [n, status] of Object.entries(c.out)) f.pool.setStatus(f.byName[n]!, status)
        for (const n of c.failing) failTimes(f.detector, f.byName[n]!, 3)
        const out = c.names.filter((n) => ejected(f, f.byName[n]!))
        t.strictSame(out, c.ejected, c.name)
        t.equal(f.detector.skipped, c.failing.length - c.ejected.length, `${c.name}: refusals counted`)
      }
    })

    t.test('an expired ejection frees its slot in the tier', async (t) => {
      const f = setup(t, ['p1', 'p2'])
      const { p1, p2 } = f.byName
      failTimes(f.detector, p1!, 3)
      failTimes(f.detector, p2!, 3)
      t.equal(ejected(f, p2!), false, 'p2 refused while p1 is out')
      f.clock.set(f.pool.status(p1!).ejectedUntil)
      failTimes(f.detector, p2!, 3)
      t.equal(ejected(f, p2!), true, 'p2 ejected once p1 is back')
    })

    t.test('disabled does nothing', async (t) => {
      const f = setup(t, ['p1', 'p2', 'p3', 'p4'], { enabled: false })
      for (const n of ['p1', 'p2', 'p3', 'p4']) failTimes(f.detector, f.byName[n]!, 50)
      t.strictSame(f.statuses, [])
      t.equal(f.detector.skipped, 0)
      t.equal(f.detector.timesEjected(f.byName.p1!), 0)
    })

    t.test('a target the pool dropped: the late failures of its requests in flight neither count nor eject it', async (t) => {
      const f = setup(t, ['p1', 'p2', 'p3', 'p4'])
      const { p1, p2, p3, p4 } = f.byName
      for (let i = 0; i < 3; i++) f.pool.acquire(p1!)
      f.pool.setTargets([p2!, p3!, p4!])
      // each ends after the pool's 'targets' event, as a request answered (or reset) after the DNS change does
      for (let i = 0; i < 3; i++) {
        f.pool.release(p1!, true)
        f.detector.failure(p1!)
      }
      t.equal(ejected(f, p1!), false, 'not ejected')
      t.equal(f.detector.timesEjected(p1!), 0)
      t.strictSame(f.statuses.filter(([name]) => name === 'p1').map(([, s]) => s.ejectedUntil), [], 'no status change for it')
    })
  })
})

// One probe's exchange (src/health/probe.ts), driven through undici's handler calls: the status and the lag a
// replica reports, bodies kept only to read it from (a dropped one cut past 128 KiB), the status as the verdict once
// it has arrived, and an abort that settles the probe at once.
t.test('health-probe-exchange', async (t) => {
  class FakeController {
    aborted: Error | undefined
    abort (reason: Error): void { this.aborted = reason }
  }
  const asController = (c: FakeController): Dispatcher.DispatchController => c as unknown as Dispatcher.DispatchController

  function answer (status: number, headers: Record<string, string | string[]>, chunks: readonly string[]): ProbeExchange {
    const exchange = new ProbeExchange()
    const c = asController(new FakeController())
    exchange.onRequestStart(c)
    exchange.onResponseStart(c, status, headers)
    for (const chunk of chunks) exchange.onResponseData(c, Buffer.from(chunk))
    exchange.onResponseEnd()
    return exchange
  }

  const big = JSON.stringify({ replicationLagMs: 5, pad: 'x'.repeat(70 * 1024) })
  const cases: { name: string; status: number; headers: Record<string, string | string[]>; chunks: string[]; lagMs: number | undefined }[] = [
    { name: 'no lag reported', status: 200, headers: {}, chunks: ['ok'], lagMs: undefined },
    { name: 'lag header', status: 200, headers: { [LAG_HEADER]: '120' }, chunks: ['ok'], lagMs: 120 },
    { name: 'lag header twice: the first', status: 200, headers: { [LAG_HEADER]: ['7', '9'] }, chunks: [], lagMs: 7 },
    { name: 'lag header that is not a number', status: 200, headers: { [LAG_HEADER]: '-1' }, chunks: [], lagMs: undefined },
    { name: 'the header wins over the body', status: 200, headers: { [LAG_HEADER]: '3', 'content-type': 'application/json', 'content-length': '24' }, chunks: ['{"replicationLagMs":900}'], lagMs: 3 },
    { name: 'JSON body in two chunks', status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': '24' }, chunks: ['{"replicationL', 'agMs":250}'], lagMs: 250 },
    { name: 'JSON body without content-length (chunked)', status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"replicationL', 'agMs":250}'], lagMs: 250 },
    { name: 'JSON body without content-length over 64 KiB: dropped', status: 200, headers: { 'content-type': 'application/json' }, chunks: [big], lagMs: undefined },
    { name: 'JSON body over 64 KiB by its length: dropped', status: 200, headers: { 'content-type': 'application/json', 'content-length': String(big.length) }, chunks: [big], lagMs: undefined },
    { name: 'JSON body longer than its length said: dropped', status: 200, headers: { 'content-type': 'application/json', 'content-length': '24' }, chunks: [big], lagMs: undefined },
    { name: 'body that is not JSON', status: 200, headers: { 'content-type': 'text/plain', 'content-length': '24' }, chunks: ['{"replicationLagMs":250}'], lagMs: undefined },
    { name: 'malformed JSON', status: 200, headers: { 'content-type': 'application/json', 'content-length': '5' }, chunks: ['{"rep'], lagMs: undefined },
    { name: 'negative lag in JSON', status: 200, headers: { 'content-type': 'application/json', 'content-length': '23' }, chunks: ['{"replicationLagMs":-1}'], lagMs: undefined },
    { name: 'failing status keeps its lag', status: 503, headers: { [LAG_HEADER]: '10' }, chunks: [], lagMs: 10 },
  ]

  t.test('status and lag', async (t) => {
    for (const c of cases) {
      const got = await answer(c.status, c.headers, c.chunks).answer
      t.same(got, c.lagMs === undefined ? { status: c.status } : { status: c.status, lagMs: c.lagMs }, c.name)
    }
  })

  t.test('an error before the status ends the probe with it', async (t) => {
    const exchange = new ProbeExchange()
    const c = asController(new FakeController())
    exchange.onRequestStart(c)
    const err = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
    exchange.onResponseError(c, err)
    await t.rejects(exchange.answer, { code: 'ECONNREFUSED' })
    t.equal(exchange.aborted, false)
  })

  t.test('after the status, an error or an abort ends only the body: the status stands', async (t) => {
    for (const end of ['error', 'abort'] as const) {
      const exchange = new ProbeExchange()
      const controller = new FakeController()
      const c = asController(controller)
      exchange.onRequestStart(c)
      exchange.onResponseStart(c, 200, { [LAG_HEADER]: '4', 'content-type': 'application/json', 'content-length': '24' })
      exchange.onResponseData(c, Buffer.from('{"replicat'))
      const reason = new Error('cut')
      if (end === 'error') exchange.onResponseError(c, reason)
      else exchange.abort(reason)
      t.same(await exchange.answer, { status: 200, lagMs: 4 }, end)
      if (end === 'abort') t.equal(controller.aborted, reason, 'the request is aborted')
    }
  })

  t.test('a lag body cut short after the status (an error, an abort): the status stands, the lag is unknown', async (t) => {
    for (const end of ['error', 'abort'] as const) {
      for (const headers of [{ 'content-length': '24' }, {}]) {
        const exchange = new ProbeExchange()
        const c = asController(new FakeController())
        exchange.onRequestStart(c)
        exchange.onResponseStart(c, 200, { 'content-type': 'application/json', ...headers })
        exchange.onResponseData(c, Buffer.from('{"replicat'))
        if (end === 'error') exchange.onResponseError(c, new Error('cut'))
        else exchange.abort(new Error('cut'))
        t.strictSame(await exchange.answer, { status: 200, lagUnknown: true }, `${end}, ${'content-length' in headers ? 'with' : 'without'} a length`)
      }
    }
    const complete = answer(200, { 'content-type': 'application/json' }, ['{"status":"ok"}'])
    t.strictSame(await complete.answer, { status: 200 }, 'a whole body without a lag reports none: not unknown')
  })

  t.test('a body only read to be dropped is cut past 128 KiB, the status standing', async (t) => {
    const byLength = new ProbeExchange()
    const first = new FakeController()
    byLength.onRequestStart(asController(first))
    byLength.onResponseStart(asController(first), 200, { 'content-length': String(200 * 1024) })
    t.ok(first.aborted, 'a content-length over the limit: cut at once')
    t.same(await byLength.answer, { status: 200 })

    const byBytes = new ProbeExchange()
    const second = new FakeController()
    byBytes.onRequestStart(asController(second))
    byBytes.onResponseStart(asController(second), 503, {})
    for (let i = 0; i < 4 && second.aborted === undefined; i++) byBytes.onResponseData(asController(second), Buffer.alloc(64 * 1024))
    t.ok(second.aborted, 'a body without a length: cut once past the limit')
    t.same(await byBytes.answer, { status: 503 })
  })

  t.test('abort while the request waits for its connection: settled at once; sent when it starts, its answer dropped', async (t) => {
    const exchange = new ProbeExchange()
    const reason = new Error('timed out')
    exchange.abort(reason)
    await t.rejects(exchange.answer, reason)
    t.equal(exchange.aborted, true)
    const controller = new FakeController()
    exchange.onRequestStart(asController(controller))
    t.equal(controller.aborted, undefined, 'not aborted: the connection stays for the next probe')
    exchange.onResponseStart(asController(controller), 200, {})
    exchange.onResponseEnd()
    await t.rejects(exchange.answer, reason, 'the late answer changes nothing')
  })

  t.test('abort with its queued request (the checker stopped): aborted once it starts', async (t) => {
    const exchange = new ProbeExchange()
    const reason = new Error('stopped')
    exchange.abort(reason, true)
    await t.rejects(exchange.answer, reason)
    const controller = new FakeController()
    exchange.onRequestStart(asController(controller))
    t.equal(controller.aborted, reason)
  })

  t.test('abort mid-request (before the status) aborts it; later calls change nothing', async (t) => {
    const exchange = new ProbeExchange()
    const controller = new FakeController()
    const c = asController(controller)
    exchange.onRequestStart(c)
    const reason = new Error('timed out')
    exchange.abort(reason)
    t.equal(controller.aborted, reason)
    exchange.onResponseStart(c, 200, {})
    exchange.onResponseEnd()
    exchange.onResponseError(c, new Error('late'))
    await t.rejects(exchange.answer, reason)
  })

  t.test('abort after the answer changes nothing', async (t) => {
    const exchange = answer(204, {}, [])
    exchange.abort(new Error('late'))
    t.same(await exchange.answer, { status: 204 })
    t.equal(exchange.aborted, false)
  })
})

// Probes after the first fall due on a shared grid of slots (src/health/slot-timers.ts): everything due in one slot
// runs from one timer, never before its delay and less than one slot after it; cancelling the last callback of a
// slot clears its timer. And two pools' checkers on one clock share the grid.
t.test('health-probe-slots', async (t) => {
  t.test('a callback runs at the first slot boundary at least its delay away', async (t) => {
    // [clock start, delay, slot ms, expected ms until it runs]
    const cases: [number, number, number, number][] = [
      [1000, 0, 20, 0],
      [1000, 1, 20, 20],
      [1000, 20, 20, 20],
      [1000, 20.5, 20, 40],
      [1005, 0, 20, 15],
      [1005, 15, 20, 15],
      [1005, 16, 20, 35],
      [1000.25, 1999.75, 20, 1999.75],
      [7, 1993, 10, 1993],
    ]
    for (const [start, delay, slotMs, expected] of cases) {
      const clock = new ManualClock(start)
      const slots = new SlotTimers(clock, slotMs)
      let ranAt: number | undefined
      slots.after(delay, () => { ranAt = clock.now() })
      t.same(clock.dueIn(), [expected], `from ${start}, ${delay} ms on a ${slotMs} ms grid: due in ${expected} ms`)
      clock.advance(expected)
      t.equal(ranAt, start + expected, 'and runs then')
      t.ok(ranAt! - start >= delay && ranAt! - start < delay + slotMs, 'never early, less than a slot late')
    }
  })

  t.test('callbacks due in one slot share one timer and run in the order they were set', async (t) => {
    const clock = new ManualClock(1000)
    const slots = new SlotTimers(clock, 20)
    const ran: string[] = []
    slots.after(3, () => ran.push('a'))
    slots.after(17, () => ran.push('b'))
    slots.after(20, () => ran.push('c'))
    slots.after(21, () => ran.push('d'))
    t.equal(clock.pendingTimers, 2, 'two slots, two timers')
    t.equal(slots.pending, 2)
    clock.advance(20)
    t.same(ran, ['a', 'b', 'c'])
    clock.advance(20)
    t.same(ran, ['a', 'b', 'c', 'd'])
    t.equal(clock.pendingTimers, 0)
    t.equal(slots.pending, 0)
  })

  t.test('cancelling: the slot keeps its timer while a callback is left, and clears it with the last', async (t) => {
    const clock = new ManualClock(1000)
    const slots = new SlotTimers(clock, 20)
    const ran: string[] = []
    const cancelA = slots.after(5, () => ran.push('a'))
    const cancelB = slots.after(6, () => ran.push('b'))
    cancelA()
    t.equal(clock.pendingTimers, 1, 'b keeps the slot armed')
    cancelA()
    t.equal(clock.pendingTimers, 1, 'a second cancel changes nothing')
    cancelB()
    t.equal(clock.pendingTimers, 0, 'the last one cancelled clears the timer')
    t.equal(slots.pending, 0)
    clock.advance(100)
    t.same(ran, [], 'nothing ran')
    // a slot fired: cancelling one of its callbacks afterwards is harmless
    const cancelC = slots.after(5, () => ran.push('c'))
    clock.advance(20)
    cancelC()
    t.same(ran, ['c'])
    slots.after(5, () => ran.push('d'))
    t.equal(clock.pendingTimers, 1)
    clock.advance(20)

    // a callback of a firing slot that sets a callback due at once gets a new slot with the same index: a late
    // cancel of the fired one (here from inside it) must leave that one armed
    const cancelE = slots.after(20, () => {
      ran.push('e')
      slots.after(0, () => ran.push('f'))
      cancelE()
    })
    clock.advance(20)
    t.same(ran, ['c', 'd', 'e', 'f'])
  })

  t.test('a step of the wall clock moves no due time: slots are keyed on the monotonic clock', async (t) => {
    const timers = new ManualClock(1_000_000)
    let step = 0
    // the wall clock (now) can be stepped; timers and monotonicNow run on the manual clock, as Node's timers do
    const clock: Clock = {
      now: () => timers.now() + step,
      monotonicNow: () => timers.now(),
      setTimeout: (callback, ms) => timers.setTimeout(callback, ms),
      clearTimeout: (timer) => timers.clearTimeout(timer),
    }
    const slots = new SlotTimers(clock, 20)
    const ran: [string, number][] = []
    slots.after(1000, () => ran.push(['a', timers.now()]))
    step = -4000 // the wall clock steps back 4 s
    slots.after(5000, () => ran.push(['b', timers.now()]))
    step = 2000 // and forward
    slots.after(3000, () => ran.push(['c', timers.now()]))
    t.same(timers.dueIn(), [1000, 3000, 5000], 'each due when asked, not in the slot the stepped wall clock names')
    timers.advance(5000)
    t.same(ran, [['a', 1_001_000], ['c', 1_003_000], ['b', 1_005_000]])
  })

  t.test('one grid per clock', async (t) => {
    const clock = new ManualClock()
    t.equal(slotTimersFor(clock), slotTimersFor(clock))
    t.not(slotTimersFor(clock), slotTimersFor(new ManualClock()))
  })

  t.test('two pools\' checkers share the grid: their later probes due in one slot set one timer', async (t) => {
    const upstream = await TestUpstream.start({ name: 'u' })
    t.teardown(() => upstream.close())
    const clock = new ManualClock()
    // jitter 0 and the random source at 0: every first probe at once, every later one exactly intervalMs after
    const config = poolConfig({ targets: [upstream.url, upstream.url.replace('127.0.0.1', 'localhost')], healthCheck: { intervalMs: 1000, timeoutMs: 500, jitter: 0 } })
    const runtimes = ['a', 'b'].map((name) => new PoolRuntime(name, config, { clock, random: () => 0 }))
    t.teardown(() => Promise.all(runtimes.map((r) => r.close())))
    for (const r of runtimes) void r.start()
    t.equal(clock.pendingTimers, 4, 'first probes: one exact timer per target')
    clock.advance(0)
    await waitFor(() => runtimes.every((r) => r.pool.targets.every((x) => r.health!.lastResult(x) !== undefined)))
    t.equal(upstream.healthChecks, 4, 'each target probed once')
    t.same(clock.dueIn(), [1000], 'four later probes, one timer')
    const before = upstream.healthChecks
    clock.advance(1000)
    await waitFor(() => upstream.healthChecks === before + 4)
    t.pass('all four probed from it')
  })
})

// A target removed while its probe still waits for its connection (here: a TLS handshake that has not finished) is
// not probed once the connection comes (health/active.ts aborts the queued request, probe.ts at its start). The
// removed target's client closes gracefully, which would otherwise still send the probe: a request to an upstream
// the operator has just taken out of the pool.
t.test('health-removed-target-queued-probe', async (t) => {
  const certs = new CertificateMaker()
  t.teardown(() => certs.remove())
  const ca = certs.ca('test-ca')
  const leaf = certs.leaf('upstream', ca, 'IP:127.0.0.1')

  t.test('the queued probe of a removed target is never sent', async (t) => {
    // the upstream: counts the requests it gets
    let requests = 0
    const upstream = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (_req, res) => { requests++; res.end('ok') })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
    const upstreamPort = (upstream.address() as AddressInfo).port

    // a gate in front of it: holds each connection (so its TLS handshake waits) until the test lets it through
    const held: Socket[] = []
    const sockets = new Set<Socket>()
    const gate = createNetServer((socket) => { held.push(socket); sockets.add(socket) })
    gate.listen(0, '127.0.0.1')
    await once(gate, 'listening')
    t.teardown(() => { for (const s of sockets) s.destroy(); gate.close() })
    const release = (): void => {
      for (const socket of held.splice(0)) {
        const onward = connect(upstreamPort, '127.0.0.1')
        sockets.add(onward)
        socket.pipe(onward).pipe(socket)
        socket.on('error', () => onward.destroy())
        onward.on('error', () => socket.destroy())
        socket.on('close', () => onward.destroy())
        onward.on('close', () => socket.destroy())
      }
    }

    const clock = new ManualClock()
    const runtime = new PoolRuntime('p', poolConfig({
      targets: [`https://127.0.0.1:${(gate.address() as AddressInfo).port}`],
      tls: { ca: ca.cert },
      healthCheck: { path: '/health', intervalMs: 10_000, timeoutMs: 5_000 },
    }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    void runtime.start()
    clock.advance(0) // the first probe is sent: its connection waits at the gate
    await waitFor(() => held.length === 1)

    const probeConnection = held[0]!
    const closed = once(probeConnection, 'close')
    runtime.pool.setTargets([]) // removed while its probe is queued
    release()
    await closed // the removed target's client closes its connection once nothing is left to send
    t.equal(requests, 0, 'the upstream got no probe after the target was removed')
  })
})

// A second start() of a running health checker changes nothing (health/active.ts): each target keeps one probe
// timer. Watching the targets again would arm a second first probe per target (twice the probes on the upstream)
// and register the pool's 'targets' listener twice, so stop() would leave one behind and keep watching new targets.
t.test('health-start-twice', async (t) => {
  t.test('start() on a running checker arms no second probe per target', async (t) => {
    const clock = new ManualClock()
    const targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']
    // the clock never moves: no probe is sent, only their timers are armed
    const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0 } }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    void runtime.start()
    const health = runtime.health!
    t.equal(clock.pendingTimers, 3, 'one first probe per target')
    health.start()
    t.equal(clock.pendingTimers, 3, 'still one per target after a second start()')
    health.stop()
    t.equal(clock.pendingTimers, 0, 'stop() clears them all')
  })
})


t.test('health-status-matcher', async (t) => {
  t.test('statusMatcher: numbers are statuses, strings are statuses or ranges', async (t) => {
    const cases: { expect: (number | string)[]; accepted: number[]; refused: number[] }[] = [
      { expect: ['200-399'], accepted: [200, 204, 301, 399], refused: [100, 199, 400, 404, 500, 503] },
      { expect: ['200-204'], accepted: [200, 201, 204], refused: [199, 205, 404] },
      { expect: [204, 200], accepted: [200, 204], refused: [201, 203, 500] },
      { expect: ['200', '204'], accepted: [200, 204], refused: [201, 203] },
      { expect: [200, 200], accepted: [200], refused: [199, 201] },
      { expect: [200], accepted: [200], refused: [201, 204, 399] },
      { expect: [200, 204, 301], accepted: [200, 204, 301], refused: [201, 300, 302] },
      { expect: ['200-299', 418], accepted: [200, 250, 299, 418], refused: [300, 417, 419] },
    ]
    for (const c of cases) {
      const accepts = statusMatcher(c.expect)
      for (const s of c.accepted) t.equal(accepts(s), true, `${JSON.stringify(c.expect)} accepts ${s}`)
      for (const s of c.refused) t.equal(accepts(s), false, `${JSON.stringify(c.expect)} refuses ${s}`)
    }
  })

  t.test('expectStatus in the config: the old two-number range is refused with how to write it', async (t) => {
    t.strictSame(poolConfig({ healthCheck: {} }).healthCheck!.expectStatus, ['200-399'], 'the default is an explicit range')
    for (const ok of [[200, 204, 301], [204, 200], ['200-204'], ['200', '204'], [200]]) {
      t.doesNotThrow(() => poolConfig({ healthCheck: { expectStatus: ok } }), JSON.stringify(ok))
    }
    const refused: [unknown, RegExp][] = [
      [[200, 204], /^pools\.p\.healthCheck\.expectStatus: .*'200-204'.*'200', '204'/],
      [['399-200'], /^pools\.p\.healthCheck\.expectStatus\[0\]: /],
      [['2xx'], /^pools\.p\.healthCheck\.expectStatus\[0\]: /],
      [[], /^pools\.p\.healthCheck\.expectStatus: /],
      [[99], /^pools\.p\.healthCheck\.expectStatus\[0\]: /],
    ]
    for (const [expectStatus, problem] of refused) {
      t.throws(() => poolConfig({ healthCheck: { expectStatus } }), { code: 'invalid_config', problems: [problem] }, JSON.stringify(expectStatus))
    }
  })
})
