// Which backup vouches for the failing primaries past maxEjectionPercent (the verified-backup rule of
// src/health/outlier.ts #mayEject): only one a probe has passed (a failed probe verifies nothing, though one below
// unhealthyThreshold leaves the backup in service), and only while it is itself available (a checked backup that is
// disabled says nothing, even when another backup no probe has passed is available). Either way the pool-wide cap
// decides, and two failing primaries do not both go.
import t, { type Test } from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

const OUTLIER = { consecutiveFailures: 3, baseEjectionMs: 30_000, maxEjectionPercent: 50 }

/** A pool of named targets ('b…' are backups) on a manual clock: no probe goes out unless the clock moves. */
function checkedPool (t: Test, names: string[]) {
  const clock = new ManualClock()
  const targets = names.map((n, i) => ({ url: `http://127.0.0.1:${i + 1}`, backup: n.startsWith('b') }))
  const config = poolConfig({
    targets,
    outlier: OUTLIER,
    healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, unhealthyThreshold: 3 },
  })
  const runtime = new PoolRuntime('p', config, { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  runtime.start()
  const byName = Object.fromEntries(names.map((n, i) => [n, runtime.pool.targets[i]!]))
  const probe = (name: string, ok: boolean): void =>
    runtime.health!.record(byName[name]!, (ok ? { ok, status: 200, at: clock.now() } : { ok, status: 503, at: clock.now() }) satisfies ProbeResult)
  const failRequests = (name: string): void => { for (let i = 0; i < OUTLIER.consecutiveFailures; i++) runtime.outlier.failure(byName[name]!, 'status', 503) }
  const ejected = (): string[] => names.filter((n) => runtime.pool.status(byName[n]!).ejectedUntil > 0)
  return { runtime, byName, probe, failRequests, ejected }
}

t.test('a backup whose only probe failed is not verified: not both primaries', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1'])
  p.probe('b1', false)
  t.equal(p.runtime.pool.state(p.byName.b1!), 'healthy', 'one failure, below unhealthyThreshold: still in service')
  t.equal(p.runtime.health!.verified(p.byName.b1!), false)
  p.failRequests('p2')
  p.failRequests('p1')
  t.strictSame(p.ejected(), ['p2'], 'the pool-wide cap: 2 of 3 would be out')
  t.equal(p.runtime.outlier.skipped, 1)
  t.equal(p.runtime.pool.tier, 'primary')
})

t.test('a checked backup out of service vouches for nothing, though an unchecked one is available', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1', 'b2'])
  p.probe('b1', true)
  p.runtime.pool.setStatus(p.byName.b1!, { disabled: true })
  p.failRequests('p2')
  p.failRequests('p1')
  t.strictSame(p.ejected(), ['p2'], 'b2, available but never probed, is no verified backup: 3 of 4 would be out')
  t.equal(p.runtime.outlier.skipped, 1)
})

t.test('once a probe of the unchecked backup passes, it vouches', async (t) => {
  const p = checkedPool(t, ['p1', 'p2', 'b1', 'b2'])
  p.probe('b1', true)
  p.runtime.pool.setStatus(p.byName.b1!, { disabled: true })
  p.probe('b2', true)
  p.failRequests('p2')
  p.failRequests('p1')
  t.strictSame(p.ejected(), ['p1', 'p2'])
  t.equal(p.runtime.pool.tier, 'backup')
})
