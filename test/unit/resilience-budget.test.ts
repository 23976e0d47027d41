import t from 'tap'
import { RetryBudget } from '../../src/resilience/budget.ts'

/** How many retries the budget lets run at once with `active` requests in flight. */
function capacity (percent: number, minConcurrent: number, active: number): { allowed: number; budget: RetryBudget } {
  const budget = new RetryBudget({ percent, minConcurrent })
  for (let i = 0; i < active; i++) budget.requestStarted()
  let allowed = 0
  while (allowed < 10_000 && budget.tryAcquire()) allowed++
  return { allowed, budget }
}

t.test('retries in flight ≤ max(percent% of active, minConcurrent)', async (t) => {
  const cases: [percent: number, min: number, active: number, allowed: number][] = [
    [20, 3, 0, 3],
    [20, 3, 10, 3], // 2 < 3
    [20, 3, 15, 3],
    [20, 3, 20, 4],
    [20, 3, 100, 20],
    [20, 3, 1000, 200],
    [50, 0, 7, 3], // 3.5 → 3 whole retries
    [0, 0, 100, 0],
    [0, 2, 100, 2],
    [100, 0, 5, 5],
    [10, 1, 0, 1],
  ]
  for (const [percent, min, active, allowed] of cases) {
    t.equal(capacity(percent, min, active).allowed, allowed, `${percent}% of ${active}, min ${min} → ${allowed}`)
  }
})

t.test('refusals are counted', async (t) => {
  const { budget } = capacity(20, 3, 0)
  t.equal(budget.rejected, 1, 'the refusal that ended the loop')
  t.equal(budget.tryAcquire(), false)
  t.equal(budget.tryAcquire(), false)
  t.equal(budget.rejected, 3)
  t.equal(budget.retriesInFlight, 3)
})

t.test('release frees a slot', async (t) => {
  const { budget } = capacity(20, 2, 0)
  t.equal(budget.wouldAllow(), false)
  budget.release()
  t.equal(budget.retriesInFlight, 1)
  t.equal(budget.wouldAllow(), true)
  t.equal(budget.tryAcquire(), true)
  t.equal(budget.tryAcquire(), false)
})

t.test('wouldAllow takes no slot and counts no refusal', async (t) => {
  const budget = new RetryBudget({ percent: 20, minConcurrent: 1 })
  for (let i = 0; i < 5; i++) t.equal(budget.wouldAllow(), true)
  t.equal(budget.retriesInFlight, 0)
  budget.tryAcquire()
  for (let i = 0; i < 5; i++) t.equal(budget.wouldAllow(), false)
  t.equal(budget.rejected, 0)
})

t.test('the budget follows active requests as they start and finish', async (t) => {
  const budget = new RetryBudget({ percent: 10, minConcurrent: 0 })
  t.equal(budget.wouldAllow(), false, 'nothing active: no retries')
  for (let i = 0; i < 20; i++) budget.requestStarted()
  t.equal(budget.active, 20)
  t.equal(budget.tryAcquire(), true)
  t.equal(budget.tryAcquire(), true)
  t.equal(budget.tryAcquire(), false, '10% of 20 = 2')
  for (let i = 0; i < 10; i++) budget.requestFinished()
  t.equal(budget.active, 10)
  budget.release()
  budget.release()
  t.equal(budget.tryAcquire(), true)
  t.equal(budget.tryAcquire(), false, '10% of 10 = 1')
})
