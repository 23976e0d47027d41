// A pool rebuilt by a reload (its settings changed) takes over what its targets' copies share, by URL, from the pool
// it replaces. That hand-over is for the build only: a removed target, once idle and its old pool closed, must be
// garbage. A closure built beside the hand-over (the retry budget's, a discovery's listeners) kept the whole map, so
// every target a rebuild removed stayed in memory, with its probe client, as long as the new pool ran (found by the
// DNS chaos property after a reload that renamed a name the resolver then stopped answering).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { waitUntilCollected } from '../helpers/collected.ts'

const config = (targets: string[], balancer: string) => validateConfig({
  pools: { p: { targets, balancer } },
  routes: [{ path: '/', pool: 'p' }],
})

/** Builds a pool of two targets and rebuilds it without the second; only a weak reference to that target is left. */
async function rebuildWithoutOne (): Promise<{ rebuilt: PoolRuntime; removed: WeakRef<object> }> {
  const before = buildPools(config(['http://127.0.0.1:1', 'http://127.0.0.1:2'], 'round-robin')).pools
  const removed = new WeakRef(before.get('p')!.pool.targets[1]!)
  const { pools, retired } = buildPools(config(['http://127.0.0.1:1'], 'p2c'), {}, before)
  await Promise.all(retired.map((r) => r.close()))
  return { rebuilt: pools.get('p')!, removed }
}

t.test('a target a rebuilding reload removed is freed once its old pool is closed', async (t) => {
  const { rebuilt, removed } = await rebuildWithoutOne()
  t.teardown(() => rebuilt.close())
  t.strictSame(rebuilt.pool.targets.map((x) => x.id), ['127.0.0.1:1'])
  await waitUntilCollected(() => (removed.deref() === undefined ? [] : ['127.0.0.1:2']), (held) => {
    throw new Error(`still held: ${held.join(' ')}`)
  })
  t.pass('collected')
})
