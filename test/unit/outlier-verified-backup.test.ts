// Past maxEjectionPercent, a failing primary still goes when a backup its pool's active health checks have seen pass
// is available: two primaries failing on traffic (their /health passing) before one checked, healthy backup both go,
// and traffic fails over. Before, the cap counted over the whole pool kept the second one in: every request tried it
// first, and under load the breaker opened with the backup idle. A backup no probe has passed yet keeps the old rule
// (two failing primaries do not both go to it), and a failing backup tier keeps its own cap.
import t, { type Test } from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 30_000, maxEjectionPercent: 50 }

/** A pool of named targets ('b…' are backups) on a manual clock: no probe goes out unless the clock moves. */
function checkedPool (t: Test, names: string[], options: { healthCheck?: boolean; maxEjectionPercent?: number } = {}) {
  const clock = new ManualClock()
  const targets = names.map((n, i) => ({ url: `http://127.0.0.1:${i + 1}`, backup: n.startsWith('b') }))
  const config = poolConfig({
    targets,
    outlier: { ...OUTLIER, ...(options.maxEjectionPercent !== undefined ? { maxEjectionPercent: options.maxEjectionPercent } : {}) },
    ...(options.healthCheck === false ? {} : { healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 } }),
  })
  const runtime = new PoolRuntime('p', config, { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  runtime.start()
  const byName = Object.fromEntries(names.map((n, i) => [n, runtime.pool.targets[i]!]))
  const passed = (name: string): void => runtime.health!.record(byName[name]!, { ok: true, status: 200, at: clock.now() } satisfies ProbeResult)
  const failRequests = (name: string): void => { for (let i = 0; i < OUTLIER.consecutiveFailures; i++) runtime.outlier.failure(byName[name]!, 'status', 503) }
  const ejected = (): string[] => names.filter((n) => runtime.pool.status(byName[n]!).ejectedUntil > 0)
  return { runtime, passed, failRequests, ejected }
}

t.test('two primaries failing before one backup a probe has passed: both ejected, traffic on the backup', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1'])
  p.passed('b1')
  p.failRequests('p2')
  p.failRequests('p1')
  t.strictSame(p.ejected(), ['p1', 'p2'])
  t.equal(p.runtime.outlier.skipped, 0, 'nothing refused')
  t.equal(p.runtime.pool.tier, 'backup')
})

t.test('three of four primaries before a checked backup: all go', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'p3', 'b1'])
  p.passed('b1')
  for (const n of ['p1', 'p2', 'p3']) p.failRequests(n)
  t.strictSame(p.ejected(), ['p1', 'p2', 'p3'])
})

t.test('a backup no probe has passed yet keeps the pool-wide cap: not both primaries', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1'])
  p.failRequests('p2')
  p.failRequests('p1')
  t.strictSame(p.ejected(), ['p2'])
  t.equal(p.runtime.outlier.skipped, 1)
  t.equal(p.runtime.pool.tier, 'primary')
})

t.test('without active health checks no backup is verified: not both primaries', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1'], { healthCheck: false })
  p.failRequests('p2')
  p.failRequests('p1')
  t.strictSame(p.ejected(), ['p2'])
})

t.test('a checked backup that is out of service vouches for nothing', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1'])
  p.passed('b1')
  p.runtime.pool.setStatus(p.runtime.pool.targets[2]!, { disabled: true })
  p.failRequests('p2')
  p.failRequests('p1')
  t.strictSame(p.ejected(), ['p2'], 'the tier cap alone: 1 of 2')
})

t.test('a cap of 0 still ejects nothing', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1'], { maxEjectionPercent: 0 })
  p.passed('b1')
  p.failRequests('p1')
  t.strictSame(p.ejected(), [])
})

t.test('the backup tier keeps its own cap: a checked backup, the last of its tier, is not ejected', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1', 'b2'])
  p.passed('b1')
  p.passed('b2')
  for (const n of ['p1', 'p2']) p.failRequests(n)
  t.strictSame(p.ejected(), ['p1', 'p2'])
  p.failRequests('b1')
  p.failRequests('b2')
  t.strictSame(p.ejected(), ['p1', 'p2', 'b1'], '1 of 2 backups: the tier cap; the other is the breaker\'s to judge')
})
