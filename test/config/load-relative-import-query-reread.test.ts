// README (hot reload): the modules a config "imports by relative path ..., and theirs, are read again with it". An
// import that carries a query of its own ('./pools.mjs?v=1', as cache-busting habits write it) is one of them: the
// load's own query is added beside it. It was left as it came, and Node kept its first version for the life of the
// process: an edit to pools.mjs was never seen, not even by SIGHUP. (src/config/load.ts, the resolve hook.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

t.test('a relative import with a query of its own is read again at the next load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-query-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, "import { target } from './pools.mjs?v=1'\nexport default { pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] }\n")
  await writeFile(join(dir, 'pools.mjs'), "export const target = 'http://one:1'\n")
  const target = async (): Promise<string> => (await loadConfigFile(file)).pools.p!.targets[0]!.url
  t.equal(await target(), 'http://one:1')
  await writeFile(join(dir, 'pools.mjs'), "export const target = 'http://two:1'\n")
  t.equal(await target(), 'http://two:1', 'the edit is seen')
})
