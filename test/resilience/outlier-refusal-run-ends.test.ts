// What ends a run of refused ejections (maxEjectionPercent reached), so that the next refusal is said again, and only
// then (src/health/outlier.ts: `refused` is emitted for the first refusal of a run; its doc: "the run ends when the
// target is ejected after all, leaves the pool, or answers consecutiveFailures times in a row without a failure"):
// - a target that fails every streak but answers one request well between streaks is in one run: every refusal
//   starts its count of successes again, so the successes of several streaks never add up to the count that ends it
//   (else a target failing 3 requests in 4 would be said every third streak, the noise the once-per-run rule stops);
// - a target ejected after all ends its run: once back in, its next refusal is news, and is said (else an operator
//   never hears that it is failing again while the cap keeps it in).
// Driven by hand on a manual clock, with the event feed watching the pool as the gateway's does.
import pino from 'pino'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { EventFeed } from '../../src/admin/event-feed.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import type { Target } from '../../src/upstream/target.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from '../unit/config-fixtures.ts'

const BASE = 1000
const FAILURES = 3

function setup (t: Test): { runtime: PoolRuntime; clock: ManualClock; refusals: (target: Target) => number; a: Target; b: Target } {
  const clock = new ManualClock()
  const feed = new EventFeed(pino({ level: 'silent' }, new Writable({ write (_c, _e, cb) { cb() } })), clock)
  const config = poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], outlier: { consecutiveFailures: FAILURES, baseEjectionMs: BASE, maxEjectionMs: 10 * BASE, maxEjectionPercent: 50 } })
  const runtime = new PoolRuntime('p', config, { clock })
  const stop = feed.watchPool(runtime)
  t.teardown(async () => { stop(); await runtime.close() })
  const [a, b] = runtime.pool.targets as [Target, Target]
  const refusals = (target: Target): number => feed.list().filter((e) => e.target === target.id && e.message.startsWith('target not ejected')).length
  return { runtime, clock, refusals, a, b }
}

const fail = (runtime: PoolRuntime, target: Target): void => { for (let i = 0; i < FAILURES; i++) runtime.outlier.failure(target, 'status', 503) }

t.test('streaks of failures with one success between them: one run, said once', async (t) => {
  const { runtime, refusals, a, b } = setup(t)
  fail(runtime, a)
  t.ok(runtime.pool.status(a).ejectedUntil > 0, 'a is out: the tier is at its cap')
  for (let streak = 0; streak < 6; streak++) {
    fail(runtime, b)
    runtime.outlier.success(b)
  }
  t.equal(runtime.outlier.skipped, 6, 'six refusals')
  t.equal(refusals(b), 1, 'said once: one success between streaks never ends the run')
})

t.test('a target ejected after all ends its run: refused again later, it is said again', async (t) => {
  const { runtime, clock, refusals, a, b } = setup(t)
  fail(runtime, a)
  fail(runtime, b)
  t.equal(refusals(b), 1, 'b refused, said')
  clock.advance(BASE) // a's ejection ends
  fail(runtime, b)
  t.ok(runtime.pool.status(b).ejectedUntil > 0, 'b ejected after all: its run is over')
  clock.advance(BASE) // b's ejection ends
  fail(runtime, a)
  t.ok(runtime.pool.status(a).ejectedUntil > 0, 'a out again: the tier is at its cap')
  fail(runtime, b)
  t.equal(runtime.pool.status(b).ejectedUntil, 0, 'b refused again')
  t.equal(refusals(b), 2, 'a new run: said again')
})
