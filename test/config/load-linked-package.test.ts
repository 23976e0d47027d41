// Only what a config imports by relative path is read again at each load; a package it imports by name is imported
// once (README, Hot reload), also when node_modules holds a link to it (npm link, a workspace package), which Node
// resolves to its real directory outside node_modules. Read again, the package would run a fresh copy of itself at
// every reload: memory never freed, side effects (a client opening connections) repeated, its state lost.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

const counts = globalThis as { linkedPackageRuns?: number }

t.test('a linked package the config imports by name is imported once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-linked-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'packages', 'linked'), { recursive: true })
  await writeFile(join(dir, 'packages', 'linked', 'package.json'), JSON.stringify({ name: 'linked', type: 'module', exports: './index.js' }))
  await writeFile(join(dir, 'packages', 'linked', 'index.js'), 'globalThis.linkedPackageRuns = (globalThis.linkedPackageRuns ?? 0) + 1\nexport const target = "http://pkg:1"\n')
  await mkdir(join(dir, 'node_modules'))
  await symlink(join('..', 'packages', 'linked'), join(dir, 'node_modules', 'linked'))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, "import { target } from 'linked'\nexport default { pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] }\n")
  for (let i = 0; i < 3; i++) t.strictSame((await loadConfigFile(file)).pools.p!.targets.map((x) => x.url), ['http://pkg:1'], `load ${i + 1}`)
  t.equal(counts.linkedPackageRuns, 1, 'the package ran once')
})
