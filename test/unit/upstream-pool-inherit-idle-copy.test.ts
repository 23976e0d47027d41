// A reload that changes a pool's settings builds the pool anew; it takes over (as draining) only the replaced pool's
// targets that still carry requests (src/upstream/pool.ts inherit(): `if (t.ownInFlight === 0 || ...) continue`).
// An idle copy is not the new pool's business: when an ejection carried by URL ends, the operator's event feed tells
// it once, for the running target, not a second time for a copy nothing runs on any more.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'

const config = (balancer: string) => validateConfig({
  pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], balancer } },
  routes: [{ path: '/', pool: 'p' }],
})

t.test('an ejection carried into a rebuilt pool ends with one status event, none for the idle replaced copy', async (t) => {
  const clock = new ManualClock()
  const before = buildPools(config('round-robin'), { clock }).pools
  const old = before.get('p')!
  const [oldA] = old.pool.targets
  old.pool.setStatus(oldA!, { ejectedUntil: clock.now() + 1000 })
  const after = buildPools(config('random'), { clock }, before)
  t.teardown(async () => {
    for (const r of after.retired) await r.close()
    for (const r of after.pools.values()) await r.close()
  })
  const pool = after.pools.get('p')!.pool
  t.not(pool, old.pool, 'the pool was rebuilt')
  const [a] = pool.targets
  t.equal(pool.state(a!), 'ejected', 'the ejection is carried by URL')
  const events: { id: string; sameObject: boolean; ejectedUntil: number }[] = []
  pool.on('status', (target, status) => events.push({ id: target.id, sameObject: target === a, ejectedUntil: status.ejectedUntil }))
  clock.advance(1000)
  t.strictSame(events, [{ id: '127.0.0.1:1', sameObject: true, ejectedUntil: 0 }], 'one event, for the running target')
  t.equal(pool.state(a!), 'healthy')
})
