// Active health checks end an outlier ejection they saw the outage of: marked unhealthy by them and then healthy
// again within it, the target is back at once, not after up to maxEjectionMs. A target whose probes kept passing (it
// fails only on traffic, its /health fine) stays out for the whole ejection, and so does one whose probes fail now and
// then below unhealthyThreshold (review r43i: with a lift at any passing probe after a failed one, such a target was
// let back from nearly every ejection within a second), and one the checks marked down only before it was ejected.
// Before, every ejection ran its full length whatever the checks saw.
import t, { type Test } from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

const BASE = 30_000
const FAILURES = 3

/** p1 and p2 on a manual clock (no probe goes out unless the clock moves); probes are recorded by hand. */
function checkedPool (t: Test, healthyThreshold = 1) {
  const clock = new ManualClock()
  const config = poolConfig({
    targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
    outlier: { consecutiveFailures: FAILURES, baseEjectionMs: BASE, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
    healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, healthyThreshold, unhealthyThreshold: 2 },
  })
  const runtime = new PoolRuntime('p', config, { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  runtime.start()
  const p1 = runtime.pool.targets[0]!
  const probe = (ok: boolean): void => runtime.health!.record(p1, ok ? { ok, status: 200, at: clock.now() } : { ok, status: 503, at: clock.now() } satisfies ProbeResult)
  const eject = (): void => { for (let i = 0; i < FAILURES; i++) runtime.outlier.failure(p1, 'status', 503) }
  const ejected = (): boolean => runtime.pool.status(p1).ejectedUntil > 0
  return { clock, runtime, p1, probe, eject, ejected }
}

t.test('marked unhealthy and healthy again during the ejection: lifted', async (t) => {
  const f = checkedPool(t)
  f.eject()
  t.ok(f.ejected(), 'ejected')
  f.clock.advance(1000)
  f.probe(false)
  f.probe(false)
  t.equal(f.runtime.pool.state(f.p1), 'unhealthy', 'the checks took it out too')
  f.clock.advance(1000)
  f.probe(true)
  t.notOk(f.ejected(), 'lifted as the checks put it back')
  t.equal(f.runtime.pool.state(f.p1), 'healthy')
  t.ok(f.runtime.pool.available().includes(f.p1), 'back in rotation')
})

t.test('healthyThreshold 2: lifted when the checks put it back, not at its first passing probe', async (t) => {
  const f = checkedPool(t, 2)
  f.eject()
  f.probe(false)
  f.probe(false)
  f.probe(true)
  t.ok(f.ejected(), 'one passing probe: still ejected')
  t.equal(f.runtime.pool.state(f.p1), 'unhealthy')
  f.probe(true)
  t.notOk(f.ejected(), 'lifted')
  t.equal(f.runtime.pool.state(f.p1), 'healthy')
})

t.test('probes failing now and then, below unhealthyThreshold, do not lift it', async (t) => {
  const f = checkedPool(t)
  f.eject()
  for (let i = 0; i < 6; i++) {
    f.clock.advance(1000)
    f.probe(i % 3 !== 0)
  }
  t.ok(f.ejected(), 'ejected for its whole length')
  t.equal(f.runtime.pool.state(f.p1), 'ejected')
})

t.test('probes that kept passing do not lift it: it fails on traffic only', async (t) => {
  const f = checkedPool(t)
  f.eject()
  for (let i = 0; i < 5; i++) {
    f.clock.advance(1000)
    f.probe(true)
  }
  t.ok(f.ejected(), 'ejected for its whole length')
  t.equal(f.runtime.pool.state(f.p1), 'ejected')
})

t.test('marked down and back up before the ejection began: the ejection stands', async (t) => {
  const f = checkedPool(t)
  f.probe(false)
  f.probe(false)
  f.probe(true)
  t.equal(f.runtime.pool.state(f.p1), 'healthy')
  f.eject()
  f.probe(true)
  t.ok(f.ejected(), 'still ejected')
})

// AX25 (a mutation test, r43g): no test decided this case
t.test('marked down before its ejection (its in-flight requests failing eject it after): lifted as the checks put it back', async (t) => {
  const f = checkedPool(t)
  f.probe(false)
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
