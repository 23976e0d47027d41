import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'

const config = (payment: (string | Record<string, unknown>)[], member: string[], paymentExtra: Record<string, unknown> = {}) => validateConfig({
  pools: { payment: { targets: payment, ...paymentExtra }, member: { targets: member } },
  routes: [{ path: '/payment', pool: 'payment' }, { path: '/member', pool: 'member' }],
})

const closeAll = (...sets: ReadonlyMap<string, PoolRuntime>[]) => () => Promise.all(sets.flatMap((s) => [...s.values()]).map((p) => p.close()))

t.test('every pool gets its own runtime: targets, breaker, budget, outlier detector', async (t) => {
  const { pools, retired } = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], ['http://127.0.0.1:3']))
  t.teardown(closeAll(pools))
  t.strictSame(retired, [])
  const payment = pools.get('payment')!
  const member = pools.get('member')!
  t.same(payment.pool.targets.map((x) => x.url), ['http://127.0.0.1:1', 'http://127.0.0.1:2'])
  t.same(payment.pool.targets.map((x) => x.id), ['127.0.0.1:1', '127.0.0.1:2'], 'targets are named host:port')
  t.not(payment.breaker, member.breaker)
  t.not(payment.budget, member.budget)
  t.not(payment.outlier, member.outlier)
  t.equal(payment.health, undefined, 'no healthCheck block: no active checks')
})

t.test('a reload keeps an unchanged pool: same runtime, same target objects (connections, state), new targets added, removed ones drained', async (t) => {
  const before = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], ['http://127.0.0.1:1'])).pools
  const payment = before.get('payment')!
  const [p1, p2] = payment.pool.targets
  payment.pool.setStatus(p1!, { healthy: false })
  payment.pool.acquire(p2!) // a request still in flight on the target that goes away
  const after = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:9'], ['http://127.0.0.1:1']), {}, before)
  t.teardown(closeAll(after.pools))
  t.strictSame(after.retired, [], 'no pool changed its settings')
  t.equal(after.pools.get('payment'), payment, 'the same runtime: breaker, budget, outlier and health state kept')
  const [kept, added] = payment.pool.targets
  t.equal(kept, p1, 'the same Target object: its connection pool is kept')
  t.equal(payment.pool.status(kept!).healthy, false, 'and its state')
  t.equal(payment.pool.status(added!).healthy, true, 'a new target starts healthy')
  t.strictSame(payment.pool.retiring, [p2], 'the removed target finishes its request in flight')
  t.equal(payment.pool.state(p2!), 'draining')
  payment.pool.release(p2!)
  t.strictSame(payment.pool.retiring, [], 'and is closed once drained')
})

t.test('a pool whose settings changed is rebuilt; its targets keep their status by URL; a removed pool is retired', async (t) => {
  const clock = new ManualClock()
  const before = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], ['http://127.0.0.1:1']), { clock }).pools
  const old = before.get('payment')!
  old.pool.setStatus(old.pool.targets[0]!, { healthy: false, draining: true })
  // with health checks, so that their verdict (unhealthy) still has something to bring the target back
  const next = validateConfig({
    pools: { payment: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:9'], balancer: 'p2c', healthCheck: { path: '/health' } } },
    routes: [{ path: '/payment', pool: 'payment' }],
  })
  const after = buildPools(next, { clock }, before)
  t.teardown(closeAll(after.pools))
  const payment = after.pools.get('payment')!
  t.not(payment, old, 'a new runtime for new settings')
  t.strictSame(after.retired.map((r) => r.name).sort(), ['member', 'payment'], 'the old payment runtime and the removed member pool')
  const [kept, added] = payment.pool.targets
  t.same({ healthy: payment.pool.status(kept!).healthy, draining: payment.pool.status(kept!).draining }, { healthy: false, draining: true }, 'same pool, same URL: status kept')
  t.equal(payment.pool.status(added!).healthy, true)
  t.same(payment.pool.available().map((x) => x.url), ['http://127.0.0.1:9'], 'the kept status counts for availability')
  // a request admitted before the reload is still on the old payment runtime
  const old2 = after.retired.find((r) => r.name === 'payment')!
  old2.budget.tryStartRequest()
  for (const r of after.retired) r.retire()
  await new Promise((resolve) => setImmediate(resolve))
  t.strictSame(after.retired.map((r) => [r.name, r.pool.targets.length]), [['payment', 2], ['member', 0]], 'an idle retired pool closes at once; a busy one keeps its targets for what it admitted')
  t.equal(clock.pendingTimers, 1, 'the busy one has a deadline')
  old2.budget.requestFinished()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(old2.pool.targets.length, 0, 'closed once its last request ended')
  t.equal(clock.pendingTimers, 0, 'and its deadline is gone')
})

t.test('a pool rebuilt without health checks drops their verdicts (nothing would bring the target back) and keeps the rest', async (t) => {
  const withChecks = { healthCheck: { path: '/health' } }
  const before = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], ['http://127.0.0.1:3'], withChecks)).pools
  const old = before.get('payment')!
  old.pool.setStatus(old.pool.targets[0]!, { healthy: false, lagging: true })
  old.pool.setStatus(old.pool.targets[1]!, { healthy: false, disabled: true })
  const after = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], ['http://127.0.0.1:3']), {}, before)
  t.teardown(closeAll(before, after.pools))
  const [t1, t2] = after.pools.get('payment')!.pool.targets
  t.equal(after.pools.get('payment')!.pool.state(t1!), 'healthy')
  t.equal(after.pools.get('payment')!.pool.state(t2!), 'disabled', "an operator's disable stays")
})

t.test('a retired pool whose request never ends closes at twice the request deadline', async (t) => {
  const clock = new ManualClock()
  const { pools } = buildPools(config(['http://127.0.0.1:1'], ['http://127.0.0.1:2']), { clock })
  t.teardown(closeAll(pools))
  const payment = pools.get('payment')!
  payment.budget.tryStartRequest()
  payment.retire()
  clock.advance(60_999)
  t.equal(payment.pool.targets.length, 1)
  clock.advance(2)
  t.equal(payment.pool.targets.length, 0)
})
