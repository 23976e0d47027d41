// A pool held on its backups (an operator's switchover) whose last backup fails on traffic: it is ejected past its
// tier's cap only while a primary the health checks verified is available now. A primary verified once but out of
// service since (marked down by its checks, disabled) vouches for nothing: ejecting the last backup then would leave
// the pool with no target at all (tier none, every request 503) instead of a failing backup and its retries.
import t, { type Test } from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 30_000, maxEjectionPercent: 50 }

/** p1 (a primary) and b1 (a backup) on a manual clock, p1 verified by a passing probe, held on b1 by a switchover. */
function heldOnBackup (t: Test) {
  const clock = new ManualClock()
  const config = poolConfig({
    targets: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2', backup: true }],
    outlier: OUTLIER,
    healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 },
  })
  const runtime = new PoolRuntime('p', config, { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  runtime.start()
  const [p1, b1] = runtime.pool.targets as [typeof runtime.pool.targets[0], typeof runtime.pool.targets[0]]
  runtime.health!.record(p1, { ok: true, status: 200, at: clock.now() } satisfies ProbeResult)
  runtime.health!.record(b1, { ok: true, status: 200, at: clock.now() } satisfies ProbeResult)
  runtime.pool.switchover()
  const failB1 = (): void => { for (let i = 0; i < OUTLIER.consecutiveFailures; i++) runtime.outlier.failure(b1, 'status', 503) }
  return { runtime, p1, b1, failB1 }
}

t.test('the verified primary available: the failing last backup goes, traffic back on the primary', async (t) => {
  const { runtime, p1, b1, failB1 } = heldOnBackup(t)
  t.equal(runtime.health!.verified(p1), true)
  t.equal(runtime.pool.tier, 'backup')
  failB1()
  t.equal(runtime.pool.state(b1), 'ejected')
  t.equal(runtime.pool.tier, 'primary')
})

t.test('the verified primary disabled: the failing last backup stays', async (t) => {
  const { runtime, p1, b1, failB1 } = heldOnBackup(t)
  runtime.pool.setStatus(p1, { disabled: true })
  t.equal(runtime.health!.verified(p1), true, 'still verified: a probe passed since it joined')
  failB1()
  t.equal(runtime.pool.status(b1).ejectedUntil, 0, 'not ejected')
  t.equal(runtime.outlier.skipped, 1)
  t.equal(runtime.pool.tier, 'backup')
})

t.test('the verified primary marked down by its checks: the failing last backup stays', async (t) => {
  const { runtime, p1, b1, failB1 } = heldOnBackup(t)
  runtime.pool.setStatus(p1, { healthy: false })
  failB1()
  t.equal(runtime.pool.status(b1).ejectedUntil, 0, 'not ejected')
  t.equal(runtime.pool.tier, 'backup')
})
