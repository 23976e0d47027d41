// A CommonJS helper the config imports runs again at every load, and so does what it requires by relative path; a
// package it requires (node_modules) does not: it is taken out of Node's require cache only when it is the config's
// own file. Otherwise every reload would run a fresh copy of the package (its memory never freed, its side effects,
// such as a client opening connections, repeated), and a package that keeps state would lose it.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

const counts = globalThis as { cjsPackageRuns?: number; cjsHelperRuns?: number }

t.test('a package a CommonJS helper requires is required once, the helper at each load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-cjs-package-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'node_modules', 'counted-cjs'), { recursive: true })
  await writeFile(join(dir, 'node_modules', 'counted-cjs', 'package.json'), JSON.stringify({ name: 'counted-cjs', main: 'index.js' }))
  await writeFile(join(dir, 'node_modules', 'counted-cjs', 'index.js'), 'globalThis.cjsPackageRuns = (globalThis.cjsPackageRuns ?? 0) + 1\nmodule.exports = { port: 1 }\n')
  await writeFile(join(dir, 'pools.cjs'), "globalThis.cjsHelperRuns = (globalThis.cjsHelperRuns ?? 0) + 1\nmodule.exports = { targets: [`http://a:${require('counted-cjs').port}`] }\n")
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, "import helper from './pools.cjs'\nexport default { pools: { p: { targets: helper.targets } }, routes: [{ path: '/', pool: 'p' }] }\n")
  for (let i = 0; i < 3; i++) t.strictSame((await loadConfigFile(file)).pools.p!.targets.map((x) => x.url), ['http://a:1'])
  t.equal(counts.cjsHelperRuns, 3, 'the helper ran at each load')
  t.equal(counts.cjsPackageRuns, 1, 'the package it requires ran once')
})
