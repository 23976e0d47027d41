// `reuse` saves an import only when the running config is the one the file's unchanged bytes last gave. When the
// running config is another one (the gateway started from a different config, or refused the file's last result), a
// load of the same bytes must run the file and return what it says: returning the running config instead would make
// a reload report "unchanged" while the file asks for something else, and the file's config would never apply.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { validateConfig } from '../../src/config/validate.ts'

t.test('a running config other than the one the unchanged file gave is not reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-reuse-differs-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, "export default { pools: { a: { targets: ['http://file:1'] } }, routes: [{ path: '/', pool: 'a' }] }\n")
  const fromFile = await loadConfigFile(file)
  t.equal(fromFile.pools.a!.targets[0]!.url, 'http://file:1')
  const running = validateConfig({ pools: { a: { targets: ['http://running:1'] } }, routes: [{ path: '/', pool: 'a' }] })
  const loaded = await loadConfigFile(file, { reuse: running })
  t.not(loaded, running, 'the running config is not handed back')
  t.equal(loaded.pools.a!.targets[0]!.url, 'http://file:1', "the file's own config")
})
