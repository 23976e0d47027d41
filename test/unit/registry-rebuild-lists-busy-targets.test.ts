// A pool rebuilt by a reload (its settings changed) lists its predecessor's busy targets as draining until they are
// idle (README, Hot reload): a target the reload removed still carries a request on the old runtime, and /status, the
// metrics and an operator's disable must still see it there. Without that, the target would vanish from the pool
// while it still has traffic, and a drain of it would read as done with requests still running.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'

const config = (targets: string[], balancer: string) => validateConfig({
  pools: { p: { targets, balancer } },
  routes: [{ path: '/', pool: 'p' }],
})

t.test("a rebuilt pool lists the replaced pool's busy target as draining until its request ends", async (t) => {
  const before = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], 'round-robin')).pools
  const old = before.get('p')!
  t.teardown(() => old.close())
  const busy = old.pool.targets[1]!
  old.pool.acquire(busy) // a request admitted before the reload, still running
  const rebuilt = buildPools(config(['http://127.0.0.1:1'], 'p2c'), {}, before).pools.get('p')!
  t.teardown(() => rebuilt.close())
  t.not(rebuilt, old, 'new settings: a new runtime')
  t.strictSame(rebuilt.pool.retiring.map((x) => x.id), ['127.0.0.1:2'], 'the busy target is listed')
  t.equal(rebuilt.pool.status(busy).draining, true, 'as draining')
  old.pool.release(busy)
  t.strictSame(rebuilt.pool.retiring, [], 'and dropped once idle')
})
