// The canary's error window runs on the monotonic clock: a step of the wall clock (NTP, a VM resumed) changes
// nothing. Stepped back, a wall-clock window stopped forgetting until the wall clock caught up, and a canary that
// broke after a long healthy run was rolled back only once its errors outweighed everything since the step.
// A rollback's time, shown to operators, stays epoch time.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import type { RollbackEvent } from '../../src/release/canary.ts'
import { buildPlans, type PlanEvents } from '../../src/release/plans.ts'
import { RoutingTable } from '../../src/routing/table.ts'
import type { Clock } from '../../src/runtime.ts'

t.test('a wall clock stepped back an hour does not slow the rollback of a canary that breaks', async (t) => {
  let wall = Date.UTC(2025, 0, 1)
  let mono = 5_000
  const clock: Clock = {
    now: () => wall,
    monotonicNow: () => mono,
    setTimeout: () => { throw new Error('no timers here') },
    clearTimeout: () => {},
  }
  const rollbacks: RollbackEvent[] = []
  const events: PlanEvents = { fallback () {}, readToPrimary () {}, weight () {}, mirror () {}, rollback: (_route, e) => { rollbacks.push(e) } }
  const config = validateConfig({
    log: { level: 'silent' },
    pools: { v1: { targets: ['http://127.0.0.1:1'] }, v2: { targets: ['http://127.0.0.1:2'] } },
    routes: [{ name: 'pay', path: '/', pool: 'v1', canary: { pool: 'v2', weight: 10, rollback: { maxErrorRatePercent: 5, minRequests: 100, windowMs: 30_000 } } }],
  })
  const plans = buildPlans(config, new RoutingTable(config.routes).routes, { secret: 's', clock, random: () => 0.5, events })
  const plan = [...plans.values()][0]!
  // 10 canary requests a second
  const tick = (ok: boolean): void => { plan.recordVersion('canary', ok, plan.canary!.decider.epoch); wall += 100; mono += 100 }
  for (let i = 0; i < 600; i++) tick(true)
  wall -= 3_600_000
  for (let i = 0; i < 3_000; i++) tick(true)
  let failed = 0
  while (rollbacks.length === 0 && failed < 3_000) { tick(false); failed++ }
  t.equal(rollbacks.length, 1, 'rolled back')
  t.ok(failed <= 20, `rolled back ${failed} failed requests (${failed / 10} s) after the canary broke`)
  t.ok(rollbacks[0]!.requests <= 300, `the window holds 30 s of requests (${rollbacks[0]!.requests})`)
  t.equal(rollbacks[0]!.at, wall - 100, 'the rollback is dated on the wall clock')
  t.equal(plan.canary!.decider.weight, 0)
})
