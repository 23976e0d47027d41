// A pool rebuilt by a reload lists the replaced pool's busy targets until their requests end (inherit()). They were
// dropped only when something read `retiring` (/status, a /metrics scrape, the next reload): until then the rebuilt
// pool kept the removed target, and through its SharedTarget's loadListener (a closure of the old pool) the whole
// replaced PoolRuntime, breaker, health checker and closed clients included (review r36d, finding 2).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import type { Target } from '../../src/upstream/target.ts'
import { waitUntilCollected } from '../helpers/collected.ts'

const config = (targets: string[], balancer: string) => validateConfig({
  pools: { p: { targets, balancer } },
  routes: [{ path: '/', pool: 'p' }],
})

interface Rebuilt {
  rebuilt: PoolRuntime
  /** The replaced runtime and its pool: weak, made in this job and read in later ones (see collected.ts). */
  old: Map<string, WeakRef<object>>
  busy: WeakRef<Target>
}

/**
 * Rebuilds a pool without a target that still carries a request, retires the old runtime as app.ts does, then ends
 * the request.
 */
async function rebuildWhileBusy (): Promise<Rebuilt> {
  const before = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], 'round-robin')).pools
  const old = before.get('p')!
  // as app.ts's adopt() does: the pool's listeners refer to its runtime
  old.pool.on('targets', () => { void old.name })
  const busy = old.pool.targets[1]!
  old.pool.acquire(busy) // a request admitted before the reload
  const { pools, retired } = buildPools(config(['http://127.0.0.1:1'], 'p2c'), {}, before)
  const rebuilt = pools.get('p')!
  if (rebuilt === old || retired[0] !== old) throw new Error('the pool was not rebuilt')
  const over = old.retire()
  old.pool.release(busy) // its request ends: the retirement is over, the removed target closes
  await over
  await old.close()
  return { rebuilt, old: new Map<string, WeakRef<object>>([['the replaced PoolRuntime', new WeakRef(old)], ['its UpstreamPool', new WeakRef(old.pool)]]), busy: new WeakRef(busy) }
}

const stillHeld = (refs: Map<string, WeakRef<object>>) => (): string[] => [...refs].filter(([, ref]) => ref.deref() !== undefined).map(([name]) => name)
const fail = (held: string[]): never => { throw new Error(`still held: ${held.join(', ')}`) }

t.test("the replaced pool is freed once its inherited target's request ends, with no /status read", async (t) => {
  const { rebuilt, old, busy } = await rebuildWhileBusy()
  t.teardown(() => rebuilt.close())
  const refs = new Map([...old, ['its removed target', busy]])
  // (no read of rebuilt.pool.retiring or sharedByUrl() until collected: those pruned the inherited target)
  await waitUntilCollected(stillHeld(refs), fail)
  t.pass('collected')
  t.strictSame(rebuilt.pool.retiring, [], 'and /status lists nothing left of it')
})

t.test('a closed copy (its upstream removed) leaves no way to the pool that closed it', async (t) => {
  const { rebuilt, old, busy: weak } = await rebuildWhileBusy()
  t.teardown(() => rebuilt.close())
  const busy = weak.deref()!
  // whatever still holds the copy (here the test) holds its SharedTarget, whose loadListener was the old pool's
  await waitUntilCollected(stillHeld(old), fail)
  t.pass('collected')
  t.equal(busy.shared.loadListener, undefined, 'the SharedTarget hears no pool')
})
