// A target removed (a reload, a DNS answer) before its first probe is not waited for: firstRound() resolves once
// every target still in the pool has a result (health/active.ts). Otherwise the gateway's readiness would wait for
// a probe of a target it no longer checks, until the checker stops.
import t from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

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
