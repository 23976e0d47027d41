// Node 24 require()s an ES module too (createRequire(import.meta.url)('./pools.mjs'), or a .ts helper written with
// export), and keeps it by its URL in its ES module loader, which forgetting the CommonJS cache does not reach: every
// reload after an edit ran the first version and said "success". Such a config is refused with a problem, as a
// CommonJS config is (an ES module exporting 'module.exports', Node's interop for require(), too); imported instead,
// the same helper is read again at each load. A CommonJS helper of the config's that re-exports a package's ES module
// is CommonJS, and loads.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

t.test('an ES module the config require()s is refused; imported, it loads and is read again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-require-esm-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'interop.mjs'), "const pools = { host: 'one' }\nexport { pools as 'module.exports' }\n")
  for (const helper of ['pools.mjs', 'pools.ts', 'interop.mjs']) {
    if (helper !== 'interop.mjs') await writeFile(join(dir, helper), "export const host = 'one'\n")
    const file = join(dir, `required-${helper}.config.mjs`)
    await writeFile(file, `import { createRequire } from 'node:module'\nconst { host } = createRequire(import.meta.url)('./${helper}')\nexport default { pools: { p: { targets: [\`http://\${host}:1\`] } }, routes: [{ path: '/', pool: 'p' }] }\n`)
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, helper)
    t.match((err as ConfigError).problems, [/^cannot load: .*(pools|interop)\.(mjs|ts).* ES module .*require\(\)/], helper)
  }
  const file = join(dir, 'imported.config.mjs')
  await writeFile(file, "import { host } from './pools.mjs'\nexport default { pools: { p: { targets: [`http://${host}:1`] } }, routes: [{ path: '/', pool: 'p' }] }\n")
  t.equal((await loadConfigFile(file)).pools.p!.targets[0]!.url, 'http://one:1')
  await writeFile(join(dir, 'pools.mjs'), "export const host = 'two'\n")
  t.equal((await loadConfigFile(file)).pools.p!.targets[0]!.url, 'http://two:1', 'imported, the edit is seen')
})

t.test('a CommonJS helper re-exporting a package\'s ES module is not refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-require-esm-pkg-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'node_modules', 'esmpkg'), { recursive: true })
  await writeFile(join(dir, 'node_modules', 'esmpkg', 'package.json'), JSON.stringify({ name: 'esmpkg', type: 'module', exports: './index.js' }))
  await writeFile(join(dir, 'node_modules', 'esmpkg', 'index.js'), "export const host = 'pkg'\n")
  await writeFile(join(dir, 'hosts.cjs'), "module.exports = require('esmpkg')\n")
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, "import { createRequire } from 'node:module'\nconst { host } = createRequire(import.meta.url)('./hosts.cjs')\nexport default { pools: { p: { targets: [`http://${host}:1`] } }, routes: [{ path: '/', pool: 'p' }] }\n")
  t.equal((await loadConfigFile(file)).pools.p!.targets[0]!.url, 'http://pkg:1')
  t.equal((await loadConfigFile(file)).pools.p!.targets[0]!.url, 'http://pkg:1', 'and again')
})
