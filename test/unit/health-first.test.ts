// The health checker's first round: each subtest is one behaviour, named as its file was.
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'
import { ActiveHealthChecker } from '../../src/health/active.ts'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import type { ProbeResult } from '../../src/health/active.ts'

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
