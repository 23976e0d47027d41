// Lag in a lag-limited pool (health/active.ts) fails closed: a target whose lag is not known yet is lagging, and a
// passing probe that reports no valid lag (no header, 'unknown', '-1', '5e3', a JSON null or string, a body that
// does not parse or is cut short: the probe gives no lagMs) changes nothing, so the last valid lag still decides.
// Before, any passing probe counted as "no lag": a replica 10 minutes behind whose health check said
// `x-replication-lag-ms: unknown` took reads again, and one just added took reads before its first probe.
// Each change between reporting a lag and not is said once (event lagReport), only where lag is judged.
import t, { type Test } from 'tap'
import { ActiveHealthChecker, type ProbeResult } from '../../src/health/active.ts'
import type { Target } from '../../src/upstream/target.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

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
