// A reload that only turns a primary into a backup (same URL, same weight) must take it out of the primaries: the
// pool keeps its runtime, and the target is rebuilt with the new flag, keeping its status
// (src/upstream/registry.ts targetKey(): `${t.weight} ${t.backup}`).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'

const config = (backup: boolean) => validateConfig({
  pools: { p: { targets: ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', backup }] } },
  routes: [{ path: '/', pool: 'p' }],
})

t.test('a reload that makes a primary a backup moves it to the standby', async (t) => {
  const before = buildPools(config(false)).pools
  const rt = before.get('p')!
  t.teardown(() => rt.close())
  t.strictSame(rt.pool.available().map((x) => x.id), ['127.0.0.1:1', '127.0.0.1:2'])
  const after = buildPools(config(true), {}, before)
  t.equal(after.pools.get('p'), rt, 'the pool keeps its runtime')
  t.strictSame(rt.pool.targets.map((x) => x.backup), [false, true], 'the second target is a backup now')
  t.strictSame(rt.pool.available().map((x) => x.id), ['127.0.0.1:1'], 'only the primary takes traffic')
})
