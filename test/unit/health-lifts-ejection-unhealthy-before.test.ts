// The checks lift an outlier ejection when they put the target back in health during it (src/health/active.ts
// record()), a target they had marked unhealthy before it was ejected too (the failures of requests still in flight to
// it eject it after its health took it out): they saw its outage and its end, as for one they marked down during the
// ejection. A mutation test (AX25, r43g) found no test deciding this case.
import t, { type Test } from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

const BASE = 30_000
const FAILURES = 3

/** p1 and p2 on a manual clock (no probe goes out unless the clock moves); probes are recorded by hand. */
function checkedPool (t: Test) {
  const clock = new ManualClock()
  const config = poolConfig({
    targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
    outlier: { consecutiveFailures: FAILURES, baseEjectionMs: BASE, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
    healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, healthyThreshold: 1, unhealthyThreshold: 1 },
  })
  const runtime = new PoolRuntime('p', config, { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  runtime.start()
  const p1 = runtime.pool.targets[0]!
  const probe = (ok: boolean): void => runtime.health!.record(p1, (ok ? { ok, status: 200, at: clock.now() } : { ok, status: 503, at: clock.now() }) satisfies ProbeResult)
  const eject = (): void => { for (let i = 0; i < FAILURES; i++) runtime.outlier.failure(p1, 'status', 503) }
  const ejected = (): boolean => runtime.pool.status(p1).ejectedUntil > clock.now()
  return { clock, runtime, p1, probe, eject, ejected }
}

t.test('unhealthy, then ejected by its in-flight failures: back in health at the next pass, and in rotation', async (t) => {
  const f = checkedPool(t)
  f.probe(false)
  t.equal(f.runtime.pool.state(f.p1), 'unhealthy', 'the checks took it out')
  f.eject()
  t.ok(f.ejected(), 'ejected by the failures of requests already in flight')
  f.clock.advance(1000)
  f.probe(true)
  t.notOk(f.ejected(), 'lifted as the checks put it back')
  t.equal(f.runtime.pool.state(f.p1), 'healthy')
  t.ok(f.runtime.pool.available().includes(f.p1), 'back in rotation')
})

t.test('healthy, then ejected: a passing probe keeps it healthy and ejected', async (t) => {
  const f = checkedPool(t)
  f.eject()
  f.clock.advance(1000)
  f.probe(true)
  t.ok(f.ejected(), 'the checks never marked it down: the ejection stands')
  t.equal(f.runtime.pool.state(f.p1), 'ejected')
})
