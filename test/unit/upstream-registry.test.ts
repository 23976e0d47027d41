import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'

const config = (payment: string[], member: string[]) => validateConfig({
  pools: { payment: { targets: payment }, member: { targets: member } },
  routes: [{ path: '/payment', pool: 'payment' }, { path: '/member', pool: 'member' }],
})

t.test('every pool gets its own runtime: targets, breaker, budget, outlier detector', async (t) => {
  const pools = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], ['http://127.0.0.1:3']))
  t.teardown(() => Promise.all([...pools.values()].map((p) => p.close())))
  const payment = pools.get('payment')!
  const member = pools.get('member')!
  t.same(payment.pool.targets.map((x) => x.url), ['http://127.0.0.1:1', 'http://127.0.0.1:2'])
  t.not(payment.breaker, member.breaker)
  t.not(payment.budget, member.budget)
  t.not(payment.outlier, member.outlier)
  t.equal(payment.health, undefined, 'no healthCheck block: no active checks')
})

t.test('target status is keyed by pool + URL: unchanged targets keep it across a rebuild', async (t) => {
  const before = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], ['http://127.0.0.1:1']))
  const p1 = before.get('payment')!.pool.targets[0]!
  before.get('payment')!.pool.setStatus(p1, { healthy: false, draining: true })
  const after = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:9'], ['http://127.0.0.1:1']), {}, before)
  t.teardown(() => Promise.all([...before.values(), ...after.values()].map((p) => p.close())))
  const [kept, added] = after.get('payment')!.pool.targets
  const pay = after.get('payment')!.pool
  t.same({ healthy: pay.status(kept!).healthy, draining: pay.status(kept!).draining }, { healthy: false, draining: true }, 'same pool, same URL: status kept')
  t.equal(pay.status(added!).healthy, true, 'a new target starts healthy')
  t.equal(after.get('member')!.pool.status(after.get('member')!.pool.targets[0]!).healthy, true, 'the same URL in another pool is another target')
  t.same(after.get('payment')!.pool.available().map((x) => x.url), ['http://127.0.0.1:9'], 'the kept status counts for availability')
})
