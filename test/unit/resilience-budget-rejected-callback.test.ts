// An operator watches the pool's "retry budget exhausted" counter (metrics/upstream.ts budgetExhausted, wired in
// upstream/registry.ts as RetryBudget's onRejected) to see retries being shed during a pool-wide failure, as Envoy's
// upstream_rq_retry_overflow. Every refused tryAcquire must call onRejected exactly once, and an allowed one never:
// pins src/resilience/budget.ts tryAcquire's `this.#onRejected()` (line 44).
import t from 'tap'
import { RetryBudget } from '../../src/resilience/budget.ts'

t.test('onRejected is called once per refused retry, never for an allowed one', async (t) => {
  const cases: [percent: number, min: number, active: number, tries: number, refused: number][] = [
    [20, 3, 0, 3, 0], // within minConcurrent: no call
    [20, 3, 0, 5, 2],
    [20, 3, 100, 20, 0],
    [20, 3, 100, 25, 5],
    [0, 0, 10, 4, 4], // a budget of nothing refuses every retry
  ]
  for (const [percent, min, active, tries, refused] of cases) {
    let calls = 0
    const budget = new RetryBudget({ percent, minConcurrent: min }, () => { calls++ })
    for (let i = 0; i < active; i++) budget.requestStarted()
    let allowed = 0
    for (let i = 0; i < tries; i++) if (budget.tryAcquire()) allowed++
    const label = `${percent}% of ${active}, min ${min}, ${tries} tries`
    t.equal(calls, refused, `${label}: onRejected calls`)
    t.equal(budget.rejected, refused, `${label}: rejected count agrees`)
    t.equal(allowed + refused, tries, `${label}: every try allowed or refused`)
  }
})

t.test('wouldAllow alone never reports a refusal', async (t) => {
  let calls = 0
  const budget = new RetryBudget({ percent: 0, minConcurrent: 0 }, () => { calls++ })
  t.equal(budget.wouldAllow(), false)
  t.equal(calls, 0, 'asking is not refusing')
  t.equal(budget.tryAcquire(), false)
  t.equal(calls, 1)
})
