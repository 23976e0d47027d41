// A target that leaves its pool (a reload, a DNS answer without it) while it is ejected, or in a run of refused
// ejections (maxEjectionPercent reached), is forgotten by the outlier detector with the rest of its state: nothing
// keeps it once it is gone. src/health/outlier.ts: "a target that leaves the pool (reload, DNS) is forgotten: kept here, each one
// that ever failed would stay in memory, with its closed connection pools, for as long as the pool runs" — the run
// of refusals (#refusing) and the ejection's cause (#ejections) added in review r37b are kept per target too. Checked
// by collection of the removed target (a WeakRef; test/ops/dns-removed-target-freed.test.ts does the same for the
// whole gateway).
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import type { Target } from '../../src/upstream/target.ts'
import { waitUntilCollected } from '../helpers/collected.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from '../unit/config-fixtures.ts'

const A = 'http://127.0.0.1:1'
const B = 'http://127.0.0.1:2'
const C = 'http://127.0.0.1:3'
const D = 'http://127.0.0.1:4'

t.test('an ejected target and one whose ejections are being refused, both removed, are collected', async (t) => {
  const clock = new ManualClock()
  const outlier = { consecutiveFailures: 2, baseEjectionMs: 1000, maxEjectionPercent: 50 }
  const runtime = new PoolRuntime('p', poolConfig({ targets: [A, B], outlier }), { clock })
  t.teardown(() => runtime.close())
  // in a function of its own, so that no local of the test holds a or b
  const removed = ((): Array<WeakRef<Target>> => {
    const [a, b] = runtime.pool.targets as [Target, Target]
    for (let i = 0; i < 2; i++) runtime.outlier.failure(a, 'status', 503)
    for (let i = 0; i < 2; i++) runtime.outlier.failure(b, 'status', 503)
    t.ok(runtime.pool.status(a).ejectedUntil > 0, 'a ejected')
    t.equal(runtime.outlier.skipped, 1, "b's ejection refused: b is in a run of refusals")
    return [new WeakRef(a), new WeakRef(b)]
  })()
  // both leave; c and d join (a balancer keeps what it precomputed for its last list: give it a new one)
  runtime.updateTargets(poolConfig({ targets: [C, D], outlier }))
  t.same(runtime.pool.targets.map((x) => x.url), [C, D], 'a and b are gone')
  await waitUntilCollected(() => removed.flatMap((ref) => ref.deref()?.url ?? []), (still) => {
    throw new Error(`the removed targets ${still.join(' ')} are still held`)
  })
  t.pass('the removed targets were collected')
})
