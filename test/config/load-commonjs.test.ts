// A config file that Node loads as CommonJS (`module.exports = …` in a .js or .ts file with no "type": "module") is
// refused with a problem that says to use ESM. Node's CommonJS loader keeps a module by its file name whatever the
// load's query, so such a config loaded once and every reload after ran the first version again: an edit was never
// seen, and the reload still said "success". A CommonJS helper the config imports by relative path (a .cjs file, or
// a side-effect file with no import or export), and what it requires by relative path, run again at every load.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

const BODY = "{ pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }"

t.test('a CommonJS config is refused; the same config as ESM loads', async (t) => {
  // a directory with no package.json of its own: .js and .ts are CommonJS or ESM by their syntax
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-cjs-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const refused: [string, string][] = [
    ['routes.config.js', `module.exports = ${BODY}\n`],
    ['routes.config.ts', `module.exports = ${BODY}\n`],
  ]
  for (const [name, text] of refused) {
    await writeFile(join(dir, name), text)
    const err = await loadConfigFile(join(dir, name)).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, name)
    t.match((err as ConfigError).problems, [/^cannot load: .*CommonJS.*ESM/], name)
  }
  await writeFile(join(dir, 'esm.config.js'), `export default ${BODY}\n`)
  t.equal((await loadConfigFile(join(dir, 'esm.config.js'))).pools.p!.targets[0]!.url, 'http://a:1', 'an ESM .js config loads')
})

t.test('a CommonJS helper of an ESM config, and what it requires, run again at every load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-cjs-helper-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, "import helper from './pools.cjs'\nexport default { pools: { p: { targets: helper.targets } }, routes: [{ path: '/', pool: 'p' }] }\n")
  await writeFile(join(dir, 'pools.cjs'), "module.exports = { targets: [`http://a:${require('./port.cjs')}`] }\n")
  await writeFile(join(dir, 'port.cjs'), 'module.exports = 1\n')
  const targetsOf = async (): Promise<string[]> => (await loadConfigFile(file)).pools.p!.targets.map((x) => x.url)
  t.strictSame(await targetsOf(), ['http://a:1'])
  await writeFile(join(dir, 'pools.cjs'), "module.exports = { targets: [`http://b:${require('./port.cjs')}`] }\n")
  t.strictSame(await targetsOf(), ['http://b:1'], 'the helper, run again')
  await writeFile(join(dir, 'port.cjs'), 'module.exports = 2\n')
  t.strictSame(await targetsOf(), ['http://b:2'], 'and what it requires')
})
