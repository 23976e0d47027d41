// Pool p as a reload to `config` rebuilds it from `first` (the runtime before the reload, started): the runtimes the
// reload retires are retired, and the new one is started, its first lookups done. Both closed in teardown. For the
// tests of what a reload carries over from one discovery to the next.
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'

export async function reloadedPool (t: { teardown (fn: () => unknown): void }, first: PoolRuntime, config: ResolvedConfig, options: Parameters<typeof buildPools>[1]): Promise<PoolRuntime> {
  const { pools, retired } = buildPools(config, options, new Map([['p', first]]))
  for (const r of retired) r.retire()
  const rt = pools.get('p')!
  t.teardown(async () => {
    await rt.close()
    for (const r of retired) await r.close()
  })
  await rt.start()
  return rt
}
