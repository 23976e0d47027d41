// The attempts of one request within its pool (proxy/retry-loop.ts): a different target each time while policy,
// budget and deadline allow, a backoff that waits on the gateway's clock, every retry slot given back.
// The targets are real ports that refuse connections (a connect failure, retryable for any method, outside the
// budget); where the budget is the point, they are servers that reset each request (a 'reset', within the budget).
import t, { type Test } from 'tap'
import type { AttemptResult } from '../../src/proxy/attempt.ts'
import type { Exchange } from '../../src/proxy/exchange.ts'
import { tryTargets } from '../../src/proxy/retry-loop.ts'
import type { PoolRuntime } from '../../src/upstream/registry.ts'
import type { Target } from '../../src/upstream/target.ts'
import { waitFor } from '../helpers/gateway.ts'
import { exchange, refusingUrls, resettingUrls, runtimeFixture, type ExchangeInit, type RuntimeFixture } from './proxy-fakes.ts'

async function refusingPool (t: Test, pool: Record<string, unknown> = {}, random?: () => number): Promise<RuntimeFixture> {
  const targets = await refusingUrls(3)
  return runtimeFixture(t, { targets, ...pool }, random)
}

async function resettingPool (t: Test, pool: Record<string, unknown> = {}): Promise<RuntimeFixture> {
  const targets = await resettingUrls(t, 3)
  return runtimeFixture(t, { targets, ...pool })
}

/** The loop's outcome as a promise: its last attempt, or the error it ended with. */
function attempts (ex: Exchange, runtime: PoolRuntime): Promise<AttemptResult | undefined> {
  return new Promise((resolve, reject) => tryTargets(ex, runtime, (_ex, _runtime, last, error) => error === undefined ? resolve(last) : reject(error)))
}

const names = (fx: RuntimeFixture, tried: readonly Target[]): string[] => tried.map((x) => `t${fx.targets.indexOf(x) + 1}`)
const inFlight = (fx: RuntimeFixture): number => fx.targets.reduce((n, x) => n + x.inFlight, 0)

t.test('attempts go to a different target each time until policy, budget or deadline say stop', async (t) => {
  // tried: the targets in order, or how many attempts when the balancer's order over repeats is not the point
  interface Case { name: string; pool?: Record<string, unknown>; init?: ExchangeInit; tried: string[] | number; rejected?: number; retryable: boolean }
  const cases: Case[] = [
    { name: 'attempts 3: three targets', tried: ['t1', 't2', 't3'], retryable: false },
    { name: 'attempts 2', pool: { retry: { attempts: 2 } }, tried: ['t1', 't2'], retryable: false },
    { name: 'attempts 1: no retry', pool: { retry: { attempts: 1 } }, tried: ['t1'], retryable: false },
    { name: 'attempts 5 over three targets: never the one that just failed', pool: { retry: { attempts: 5 } }, tried: 5, retryable: false },
    { name: 'a POST: refused connections never reached the upstream', init: { method: 'POST' }, tried: ['t1', 't2', 't3'], retryable: false },
    { name: 'connect-failure not in retryOn', pool: { retry: { retryOn: [503] } }, tried: ['t1'], retryable: false },
    { name: 'a budget of nothing: connect failures still go elsewhere, taking no slot', pool: { retry: { budget: { percent: 0, minConcurrent: 0 } } }, tried: ['t1', 't2', 't3'], retryable: false },
  ]
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const fx = await refusingPool(t, c.pool)
      const { ex } = exchange(fx, c.init)
      const last = await attempts(ex, fx.runtime)
      const tried = names(fx, ex.tried)
      if (typeof c.tried === 'number') {
        t.equal(tried.length, c.tried)
        t.same(new Set(tried), new Set(['t1', 't2', 't3']), 'every target tried')
      } else {
        t.same(tried, c.tried)
      }
      t.ok(tried.every((x, i) => i === 0 || x !== tried[i - 1]), `never the same target twice in a row: ${tried.join(' ')}`)
      t.equal(last?.failure, 'connect-failure')
      t.equal(last?.responded, false)
      t.equal(last?.retryable, c.retryable, c.retryable ? 'policy allowed another attempt; the budget did not' : 'nothing more allowed')
      t.equal(fx.runtime.budget.rejected, c.rejected ?? 0)
      t.equal(fx.runtime.budget.retriesInFlight, 0, 'every retry slot given back')
      t.equal(inFlight(fx), 0)
      t.same(fx.clock.dueIn(), [])
    })
  }
})

t.test('a reset is retried only within the budget: a budget of nothing refuses the first retry', async (t) => {
  const fx = await resettingPool(t, { retry: { budget: { percent: 0, minConcurrent: 0 } } })
  const { ex } = exchange(fx)
  const last = await attempts(ex, fx.runtime)
  t.same(names(fx, ex.tried), ['t1'])
  t.equal(last?.failure, 'reset')
  t.equal(last?.retryable, true, 'policy allowed another attempt; the budget did not')
  t.equal(fx.runtime.budget.rejected, 1)
  t.equal(fx.runtime.budget.retriesInFlight, 0)
  t.equal(inFlight(fx), 0)
})

t.test('a retry after a connect failure takes no budget slot; one after a reset holds one while it runs, and gives it back', async (t) => {
  for (const [kind, make, slots] of [['connect-failure', refusingPool, []], ['reset', resettingPool, [1, 1]]] as const) {
    const fx = await make(t)
    const seen: number[] = []
    const { tryAcquire } = fx.runtime.budget
    fx.runtime.budget.tryAcquire = () => {
      const taken = tryAcquire.call(fx.runtime.budget)
      seen.push(fx.runtime.budget.retriesInFlight)
      return taken
    }
    const { ex } = exchange(fx)
    const last = await attempts(ex, fx.runtime)
    t.equal(last?.failure, kind)
    t.equal(ex.attempts, 3, `${kind}: three attempts`)
    // reset: one slot per retry, the first given back before the second is taken
    t.same(seen, slots, `${kind}: slots held while each retry ran`)
    t.equal(fx.runtime.budget.retriesInFlight, 0)
  }
})

t.test('the budget spent by other requests stops the loop after the first attempt', async (t) => {
  const fx = await resettingPool(t, { retry: { budget: { percent: 0, minConcurrent: 1 } } })
  t.ok(fx.runtime.budget.tryAcquire(), 'another request holds the only slot')
  const { ex } = exchange(fx)
  await attempts(ex, fx.runtime)
  t.same(names(fx, ex.tried), ['t1'])
  t.equal(fx.runtime.budget.rejected, 1)
  fx.runtime.budget.release()
  const { ex: next } = exchange(fx)
  await attempts(next, fx.runtime)
  t.equal(next.attempts, 3, 'once it is free, retries go ahead')
})

t.test('the backoff between attempts waits on the clock', async (t) => {
  // random 0.5: full jitter gives half the ceiling: 12 ms before the 2nd attempt (ceiling 25), 25 before the 3rd (50)
  const fx = await refusingPool(t, {}, () => 0.5)
  const { ex } = exchange(fx)
  let done = false
  const loop = attempts(ex, fx.runtime).finally(() => { done = true })
  for (const [n, wait] of [[1, 12], [2, 25]] as const) {
    await waitFor(() => ex.attempts === n && inFlight(fx) === 0 && fx.clock.pendingTimers === 1 && fx.clock.dueIn()[0] === wait)
    fx.clock.advance(wait - 1)
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(ex.attempts, n, `attempt ${n + 1} not sent 1 ms before its backoff ends`)
    fx.clock.advance(1)
    await waitFor(() => ex.attempts >= n + 1)
    t.equal(ex.attempts, n + 1, `attempt ${n + 1} sent once the clock reaches ${wait} ms`)
  }
  const last = await loop
  t.ok(done)
  t.equal(last?.failure, 'connect-failure')
  t.same(names(fx, ex.tried), ['t1', 't2', 't3'])
})

t.test('no retry whose backoff would end past the deadline', async (t) => {
  const fx = await refusingPool(t, {}, () => 0.5)
  const { ex } = exchange(fx, { remainingMs: 12 })
  const last = await attempts(ex, fx.runtime)
  t.same(names(fx, ex.tried), ['t1'])
  t.equal(last?.retryable, false)
  t.same(fx.clock.dueIn(), [], 'no backoff timer was set')
})

t.test('a client that leaves during the backoff gets no further attempt', async (t) => {
  const fx = await refusingPool(t, {}, () => 0.5)
  const { ex } = exchange(fx)
  const loop = attempts(ex, fx.runtime)
  await waitFor(() => ex.attempts === 1 && fx.clock.dueIn()[0] === 12)
  ex.clientGone = true
  fx.clock.advance(12)
  const last = await loop
  t.equal(ex.attempts, 1)
  t.equal(last?.failure, 'connect-failure')
  t.equal(fx.runtime.budget.retriesInFlight, 0)
})

t.test('nothing to try: no target available, or the client already gone', async (t) => {
  for (const name of ['every target unhealthy', 'client gone'] as const) {
    const fx = await refusingPool(t)
    const { ex } = exchange(fx)
    if (name === 'client gone') ex.clientGone = true
    else for (const target of fx.targets) fx.runtime.pool.setStatus(target, { healthy: false })
    t.equal(await attempts(ex, fx.runtime), undefined, name)
    t.equal(ex.attempts, 0)
    t.equal(fx.runtime.budget.retriesInFlight, 0)
  }
})

t.test('targets that become unavailable between attempts end the loop with the last result', async (t) => {
  const fx = await refusingPool(t, {}, () => 0.5)
  const { ex } = exchange(fx)
  const loop = attempts(ex, fx.runtime)
  await waitFor(() => ex.attempts === 1 && fx.clock.dueIn()[0] === 12)
  for (const target of fx.targets) fx.runtime.pool.setStatus(target, { disabled: true })
  fx.clock.advance(12)
  const last = await loop
  t.equal(ex.attempts, 1)
  t.equal(last?.failure, 'connect-failure')
  t.equal(fx.runtime.budget.retriesInFlight, 0)
})
