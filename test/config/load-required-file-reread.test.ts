// README (hot reload): a config is run again at every reload, and the files it reads are read again with it: "after
// editing a file the config imports or reads, send SIGHUP or POST /reload". A file the config reads through
// require() (createRequire(import.meta.url)('./port.cjs'), or a .json file) is kept by Node's CommonJS cache, by its
// file name, for the life of the process: without being forgotten before the next load, every reload after an edit
// ran with the old values and reported "unchanged". (src/config/load.ts, the resolve hook notes such files for
// forgetCommonJsHelpers.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

t.test('files a config require()s are read again at the next load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-required-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, [
    "import { createRequire } from 'node:module'",
    'const require = createRequire(import.meta.url)',
    "const { port } = require('./port.cjs')",
    "const { host } = require('./data.json')",
    "export default { pools: { p: { targets: [`http://${host}:${port}`] } }, routes: [{ path: '/', pool: 'p' }] }",
  ].join('\n') + '\n')
  await writeFile(join(dir, 'port.cjs'), 'module.exports = { port: 1 }\n')
  await writeFile(join(dir, 'data.json'), '{ "host": "one" }\n')
  const target = async (): Promise<string> => (await loadConfigFile(file)).pools.p!.targets[0]!.url
  t.equal(await target(), 'http://one:1')
  await writeFile(join(dir, 'port.cjs'), 'module.exports = { port: 2 }\n')
  await writeFile(join(dir, 'data.json'), '{ "host": "two" }\n')
  t.equal(await target(), 'http://two:2', 'both edits are seen')
})
