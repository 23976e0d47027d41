// Loading a config module (TypeScript, ES modules, CommonJS, helpers it imports): each subtest is one behaviour, named as its file was.
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'
import { fileURLToPath } from 'node:url'
import { defineConfig } from '../../src/index.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { validateConfig } from '../../src/config/validate.ts'

// A CommonJS helper the config imports runs again at every load, and so does what it requires by relative path; a
// package it requires (node_modules) does not: it is taken out of Node's require cache only when it is the config's
// own file. Otherwise every reload would run a fresh copy of the package (its memory never freed, its side effects,
// such as a client opening connections, repeated), and a package that keeps state would lose it.
t.test('load-commonjs-helper-package', async (t) => {
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
})

// A config file that Node loads as CommonJS (`module.exports = …` in a .js or .ts file with no "type": "module") is
// refused with a problem that says to use ESM. Node's CommonJS loader keeps a module by its file name whatever the
// load's query, so such a config loaded once and every reload after ran the first version again: an edit was never
// seen, and the reload still said "success". A CommonJS helper the config imports by relative path (a .cjs file, or
// a side-effect file with no import or export), and what it requires by relative path, run again at every load.
t.test('load-commonjs', async (t) => {
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
})

// A config edited while it is imported (its top-level await still pending when the new bytes land) ran one version
// or the other: the load stands for neither, so it is not remembered for `reuse`, and what an earlier load of the
// same path remembered is dropped too. A later file event must run the config again, not skip it as "unchanged"
// on the strength of a load that may not have run the bytes the file now holds.
t.test('load-edited-during-import', async (t) => {
  interface Race { evaluations: number; hold?: (() => Promise<void>) | undefined }
  const race = globalThis as { loadRace?: Race }
  race.loadRace = { evaluations: 0 }

  const source = (target: string): string => `globalThis.loadRace.evaluations++
  await globalThis.loadRace.hold?.()
  export default { pools: { a: { targets: [${JSON.stringify(target)}] } }, routes: [{ path: '/', pool: 'a' }] }
  `

  t.test('a load that an edit raced is not reused, nor is the load before it', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-edited-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, source('http://a:1'))
    await loadConfigFile(file) // remembered: these bytes gave this config
    t.equal(race.loadRace!.evaluations, 1)

    // the next load's import waits in its top-level await while the file is edited
    const { promise: started, resolve: start } = Promise.withResolvers<void>()
    const { promise: gate, resolve: open } = Promise.withResolvers<void>()
    race.loadRace!.hold = () => { start(); return gate }
    const loading = loadConfigFile(file)
    await started
    await writeFile(file, source('http://b:1'))
    open()
    const raced = await loading
    race.loadRace!.hold = undefined
    t.equal(race.loadRace!.evaluations, 2)

    // the file is back to the bytes both loads read first; the running config is the raced load's
    await writeFile(file, source('http://a:1'))
    const loaded = await loadConfigFile(file, { reuse: raced })
    t.equal(race.loadRace!.evaluations, 3, 'the config ran again')
    t.not(loaded, raced, 'a fresh config, not the running one handed back')
  })
})

// A config that calls process.exit() while it loads is refused (README, Hot reload), even when it catches the
// error the guard throws, and however deep below the config the call is made. Before, a config that caught the
// error loaded as if nothing happened, and a call made more than ten frames below the config's own code (Node's
// default stack depth) was not recognised as the config's and ended the process.
t.test('load-exit-caught', async (t) => {
  const config = (before: string): string =>
    `${before}\nexport default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n`

  function recordExits (t: Test): unknown[] {
    const calls: unknown[] = []
    const real = process.exit
    process.exit = ((code?: number | string | null) => { calls.push(code) }) as typeof process.exit
    t.teardown(() => { process.exit = real })
    return calls
  }

  t.test('a config that catches its own process.exit() error is refused all the same', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-exit-caught-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const calls = recordExits(t)
    // a helper that is not the config's own module (no load query on its frames) and recurses past ten frames
    const deep = 'data:text/javascript,export function exitDeep (n) { return n === 0 ? process.exit(5) : exitDeep(n - 1) }'
    const cases: [string, string][] = [
      ['caught.mjs', 'try { process.exit(2) } catch {}'],
      ['caught-late.ts', 'await new Promise((resolve) => setTimeout(resolve, 1))\ntry { process.exit(3) } catch {}'],
      ['deep.mjs', `import { exitDeep } from '${deep}'\ntry { exitDeep(20) } catch {}`],
    ]
    for (const [name, code] of cases) {
      const file = join(dir, name)
      await writeFile(file, config(code))
      const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
      t.type(err, ConfigError, name)
      t.match((err as ConfigError).problems, [/^cannot load: .*process\.exit/], name)
    }
    t.strictSame(calls, [], 'the process was never asked to exit')
  })
})

// process.exit() called by a CommonJS helper the config imports (pools.cjs) refuses the load like one called by the
// config itself: the helper's stack frames name its file without the load's query, so it is known by the helpers the
// load noted. Let through, the call would end the gateway with nothing logged at the first reload that ran it.
t.test('load-exit-commonjs-helper', async (t) => {
  t.test('process.exit() in a CommonJS helper refuses the load; the process is not asked to exit', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-exit-cjs-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    // process.exit replaced by a recorder for the test (the real one would end the test run)
    const calls: (number | string | null | undefined)[] = []
    const real = process.exit
    process.exit = ((code?: number | string | null) => { calls.push(code) }) as typeof process.exit
    t.teardown(() => { process.exit = real })
    await writeFile(join(dir, 'pools.cjs'), "process.exit(2)\nmodule.exports = { targets: ['http://a:1'] }\n")
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, "import helper from './pools.cjs'\nexport default { pools: { p: { targets: helper.targets } }, routes: [{ path: '/', pool: 'p' }] }\n")
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, 'the load is refused')
    t.equal((err as ConfigError).code, 'invalid_config')
    t.strictSame(calls, [], 'the process was never asked to exit')
  })
})

// A config that calls process.exit() more than once during its load, catching the refusals, is refused naming the
// first call's code: the first call is where the config meant to stop (usually with the code that says why: a
// missing secret, exit 1), and what it tried after catching that refusal is a consequence, not the cause.
t.test('load-exit-first-code', async (t) => {
  t.test('the refusal names the code of the first process.exit() call', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-exit-first-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, 'try { process.exit(1) } catch {}\ntry { process.exit(2) } catch {}\n' +
      "export default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n")
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError)
    t.match((err as ConfigError).problems, [/^cannot load: .*process\.exit\(1\)/])
  })
})

// A config that calls process.exit() while it is imported (at its top level, or after a top-level await) is refused
// with a problem that says so, and the gateway keeps running; before, it ended the gateway with exit code 0 and
// nothing logged. Only the config's own calls are refused, and only during its load: a shutdown that ends while a
// slow config loads still exits, and process.exit is put back afterwards.
t.test('load-exit', async (t) => {
  const config = (before: string): string =>
    `${before}\nexport default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n`

  async function tempDir (t: Test): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-exit-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  /** process.exit replaced by a recorder for the test (the real one would end the test run). */
  function recordExits (t: Test): (number | string | null | undefined)[] {
    const calls: (number | string | null | undefined)[] = []
    const real = process.exit
    process.exit = ((code?: number | string | null) => { calls.push(code) }) as typeof process.exit
    t.teardown(() => { process.exit = real })
    return calls
  }

  t.test('process.exit() from the config, at its top level or after an await, refuses the load', async (t) => {
    const dir = await tempDir(t)
    const calls = recordExits(t)
    const recorder = process.exit
    const cases = [
      ['top.ts', 'process.exit(0)'],
      ['awaited.mjs', 'await new Promise((resolve) => setTimeout(resolve, 5))\nprocess.exit(3)'],
      ['helper.ts', "import './helper-exits.ts'"],
    ]
    await writeFile(join(dir, 'helper-exits.ts'), 'process.exit()\n')
    for (const [name, code] of cases) {
      const file = join(dir, name!)
      await writeFile(file, config(code!))
      const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
      t.type(err, ConfigError, name)
      t.match((err as ConfigError).problems, [/^cannot load: .*process\.exit/], name)
    }
    t.strictSame(calls, [], 'the process was never asked to exit')
    t.equal(process.exit, recorder, 'process.exit is put back after each load')
  })

  t.test('while a config loads, anyone else may still exit', async (t) => {
    const file = join(await tempDir(t), 'slow.mjs')
    await writeFile(file, config('await new Promise((resolve) => setTimeout(resolve, 50))'))
    const calls = recordExits(t)
    const loading = loadConfigFile(file)
    await new Promise((resolve) => setTimeout(resolve, 10))
    process.exit(7) // as a shutdown ending meanwhile would
    t.strictSame(calls, [7], 'the call went through')
    t.equal((await loading).pools.p!.targets[0]!.url, 'http://a:1')
  })
})

// A config that imports the gateway's own sources by relative path (`import { defineConfig } from
// '../switchyard/src/index.ts'`) shares the gateway's modules: only the config's own files are read again at each
// load. Before, the load's query was carried into src/ too, and every reload ran a fresh copy of the whole gateway
// source (about 1.9 MiB of heap and 200 ms per reload, never freed).
t.test('load-gateway-sources-shared', async (t) => {
  const seen = globalThis as { configDefineConfig?: unknown; configHelperRuns?: number }

  t.test('the gateway sources a config imports are the gateway\'s own modules; its own helper still runs again', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-sources-'))
    t.teardown(() => { delete seen.configDefineConfig; delete seen.configHelperRuns; return rm(dir, { recursive: true, force: true }) })
    const index = relative(dir, fileURLToPath(new URL('../../src/index.ts', import.meta.url)))
    await writeFile(join(dir, 'helper.ts'), 'globalThis.configHelperRuns = (globalThis.configHelperRuns ?? 0) + 1\nexport const target = "http://a:1"\n')
    await writeFile(join(dir, 'routes.config.ts'), `import { defineConfig } from '${index}'\nimport { target } from './helper.ts'\n` +
      'globalThis.configDefineConfig = defineConfig\n' +
      "export default defineConfig({ pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] })\n")
    for (let i = 0; i < 2; i++) {
      await loadConfigFile(join(dir, 'routes.config.ts'))
      t.equal(seen.configDefineConfig, defineConfig, `load ${i + 1}: src/index.ts is the module the gateway runs, not a copy`)
    }
    t.equal(seen.configHelperRuns, 2, 'the config\'s own helper ran at each load')
  })
})

// A syntax error's line and column are reported only when they are the config file's own. When the error is in a
// module the config imports (./helper.ts), the position Node gives is the helper's: reported as "syntax error at
// line 4" against the config, it would send the operator to a line of routes.config.ts that has no error (or does
// not exist). The load is refused with the position named as the helper's.
t.test('load-helper-syntax-error-position', async (t) => {
  t.test("a syntax error in an imported module is not placed in the config's own lines", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-helper-syntax-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'routes.config.ts')
    await writeFile(file, "import { targets } from './helper.ts'\nexport default { pools: { p: { targets } }, routes: [{ path: '/', pool: 'p' }] }\n")
    await writeFile(join(dir, 'helper.ts'), "const port: number = 1\n\n\nexport const targets = [[[ `http://a:${port}`\n")
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError)
    t.equal((err as ConfigError).code, 'invalid_config')
    t.match((err as ConfigError).problems, [/^syntax error in .*helper\.ts at line 4, column \d+: /], "the helper's position, named as the helper's")
  })
})

// A config split over files (`import { targets } from './pools.ts'`) is read whole at every load: the modules it
// imports by relative path, and theirs, are run again, as the config itself is. Before, only the config's own URL
// got a fresh query, Node kept the imported modules for the life of the process, and an edit to pools.ts was never
// seen, not even after the config file itself changed. Packages (node_modules) are imported once, as ever.
t.test('load-imported-modules', async (t) => {
  const counts = globalThis as { packageEvaluations?: number }

  async function tempDir (t: Test): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-imports-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  const CONFIG = "import { targets } from './pools.ts'\nexport default { pools: { p: { targets } }, routes: [{ path: '/', pool: 'p' }] }\n"
  const targetsOf = async (file: string): Promise<string[]> => (await loadConfigFile(file)).pools.p!.targets.map((x) => x.url)

  t.test('an edit to a module the config imports, or to one that module imports, is seen at the next load', async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'routes.config.ts')
    await writeFile(file, CONFIG)
    await mkdir(join(dir, 'lib'))
    await writeFile(join(dir, 'pools.ts'), "import { port } from './lib/port.ts'\nexport const targets: string[] = [`http://a:${port}`]\n")
    await writeFile(join(dir, 'lib', 'port.ts'), 'export const port = 1\n')
    t.strictSame(await targetsOf(file), ['http://a:1'])
    await writeFile(join(dir, 'pools.ts'), "import { port } from './lib/port.ts'\nexport const targets: string[] = [`http://b:${port}`]\n")
    t.strictSame(await targetsOf(file), ['http://b:1'], 'the imported module, read again')
    await writeFile(join(dir, 'lib', 'port.ts'), 'export const port = 2\n')
    t.strictSame(await targetsOf(file), ['http://b:2'], 'and the module it imports')
    await writeFile(join(dir, 'pools.ts'), 'export const targets = [[[\n')
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, 'a broken helper refuses the load')
    await writeFile(join(dir, 'pools.ts'), "export const targets = ['http://c:3']\n")
    t.strictSame(await targetsOf(file), ['http://c:3'], 'and its fix is seen')
  })

  t.test('a package the config imports is imported once', async (t) => {
    const dir = await tempDir(t)
    await mkdir(join(dir, 'node_modules', 'counted'), { recursive: true })
    await writeFile(join(dir, 'node_modules', 'counted', 'package.json'), JSON.stringify({ name: 'counted', type: 'module', exports: './index.js' }))
    await writeFile(join(dir, 'node_modules', 'counted', 'index.js'), 'globalThis.packageEvaluations = (globalThis.packageEvaluations ?? 0) + 1\nexport const target = "http://pkg:1"\n')
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, "import { target } from 'counted'\nimport { target as again } from './node_modules/counted/index.js'\nexport default { pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] }\n")
    for (let i = 0; i < 3; i++) t.strictSame(await targetsOf(file), ['http://pkg:1'])
    t.equal(counts.packageEvaluations, 1)
  })

  t.test('a gateway reloaded after an edit to pools.ts sends traffic to its new target', async (t) => {
    const [a, b] = [await TestUpstream.start({ name: 'a' }), await TestUpstream.start({ name: 'b' })]
    const dir = await tempDir(t)
    const file = join(dir, 'routes.config.ts')
    await writeFile(file, CONFIG)
    await writeFile(join(dir, 'pools.ts'), `export const targets = [${JSON.stringify(a.url)}]\n`)
    const gw = await startGateway({ pools: { p: { targets: [a.url] } }, routes: [{ path: '/', pool: 'p' }] }, { configFile: file, defaultMetrics: false, env: {} })
    t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
    await writeFile(join(dir, 'pools.ts'), `export const targets = [${JSON.stringify(b.url)}]\n`)
    const result = await gw.gateway.reload('admin')
    t.equal(result.result, 'success')
    t.strictSame(result.diff?.targets.added, [`p/${b.url}`])
    t.equal(((await (await fetch(`${gw.url}/x`)).json()) as { name: string }).name, 'b')
  })
})

// Only what a config imports by relative path is read again at each load; a package it imports by name is imported
// once (README, Hot reload), also when node_modules holds a link to it (npm link, a workspace package), which Node
// resolves to its real directory outside node_modules. Read again, the package would run a fresh copy of itself at
// every reload: memory never freed, side effects (a client opening connections) repeated, its state lost.
t.test('load-linked-package', async (t) => {
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
})

// README (hot reload): the modules a config "imports by relative path ..., and theirs, are read again with it". An
// import that carries a query of its own ('./pools.mjs?v=1', as cache-busting habits write it) is one of them: the
// load's own query is added beside it. It was left as it came, and Node kept its first version for the life of the
// process: an edit to pools.mjs was never seen, not even by SIGHUP. (src/config/config-modules.ts, the resolve hook.)
t.test('load-relative-import-query-reread', async (t) => {
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
})

// The files a config require()s are found by the gateway itself (to follow symlinks afresh at each load: a swapped
// ConfigMap ..data link), so it must find the file Node's CommonJS resolver would (Node's docs, "All together"):
// a directory's package.json "main" before its index.js, resolved from the directory (an absolute one replacing it,
// a trailing '/' dropped, a byte order mark skipped); 'x/', '.' and '..' naming a directory only, never a file
// 'x.js' beside it. The first version of that search took lib/index.js over "main", and lib.js for './lib/': a config
// that had loaded one file loaded another after the change. A directory whose package.json is no JSON object is
// refused, as Node refuses it (ERR_INVALID_PACKAGE_CONFIG), not read as its index.json.
t.test('load-require-resolution-order', async (t) => {
  const answers = (name: string): string => `module.exports = ${JSON.stringify(name)}\n`

  /** A folder of its own for one case, removed after it. */
  async function caseDir (t: Test, name: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `switchyard-load-require-${name}-`))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  /** Writes dir/name.config.mjs: a config with require() at hand, `lines` after it; says where. */
  async function requiringConfig (dir: string, name: string, lines: readonly string[]): Promise<string> {
    const file = join(dir, `${name}.config.mjs`)
    await writeFile(file, ["import { createRequire } from 'node:module'", 'const require = createRequire(import.meta.url)', ...lines].join('\n') + '\n')
    return file
  }

  /** The URL of the config's first target, or what its load was refused with. */
  const firstTarget = (file: string): Promise<unknown> => loadConfigFile(file).then((c) => c.pools.p!.targets[0]!.url, (err: unknown) => err)

  /** A config whose one pool's one target is what `require('./d')` gives. */
  const REQUIRES_D = "export default { pools: { p: { targets: [require('./d')] } }, routes: [{ path: '/', pool: 'p' }] }"

  t.test('a required directory, a trailing slash and .. load the file Node would', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-require-order-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    await mkdir(join(dir, 'withmain'))
    await writeFile(join(dir, 'withmain', 'package.json'), JSON.stringify({ main: 'main.js' }))
    await writeFile(join(dir, 'withmain', 'main.js'), answers('main'))
    await writeFile(join(dir, 'withmain', 'index.js'), answers('index'))
    await mkdir(join(dir, 'both'))
    await writeFile(join(dir, 'both.js'), answers('both-file'))
    await writeFile(join(dir, 'both', 'index.js'), answers('both-directory'))
    await mkdir(join(dir, 'up', 'inner'), { recursive: true })
    await writeFile(join(dir, 'up.js'), answers('up-file'))
    await writeFile(join(dir, 'up', 'index.js'), answers('up-directory'))
    await writeFile(join(dir, 'up', 'inner', 'parent.cjs'), "module.exports = require('..')\n")
    // "main" resolved as Node resolves it: an absolute one replaces the directory, a trailing '/' goes, a BOM is skipped
    await mkdir(join(dir, 'absolute', 'elsewhere'), { recursive: true })
    await writeFile(join(dir, 'absolute', 'elsewhere', 'x.js'), answers('absolute-main'))
    await mkdir(join(dir, 'absmain'))
    await writeFile(join(dir, 'absmain', 'package.json'), JSON.stringify({ main: join(dir, 'absolute', 'elsewhere', 'x.js') }))
    await writeFile(join(dir, 'absmain', 'index.js'), answers('absolute-index'))
    await mkdir(join(dir, 'slashmain', 'sub'), { recursive: true })
    await writeFile(join(dir, 'slashmain', 'package.json'), JSON.stringify({ main: 'sub/' }))
    await writeFile(join(dir, 'slashmain', 'sub.js'), answers('slash-file'))
    await writeFile(join(dir, 'slashmain', 'sub', 'index.js'), answers('slash-directory'))
    await mkdir(join(dir, 'bommain'))
    await writeFile(join(dir, 'bommain', 'package.json'), '\uFEFF' + JSON.stringify({ main: 'm.js' }))
    await writeFile(join(dir, 'bommain', 'm.js'), answers('bom-main'))
    await writeFile(join(dir, 'bommain', 'index.js'), answers('bom-index'))
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, [
      "import { createRequire } from 'node:module'",
      'const require = createRequire(import.meta.url)',
      "const names = [require('./withmain'), require('./both'), require('./both/'), require('./up/inner/parent.cjs'), require('./absmain'), require('./slashmain'), require('./bommain')]",
      "export default { pools: { p: { targets: names.map((n, i) => `http://${n}:${i + 1}`) } }, routes: [{ path: '/', pool: 'p' }] }",
    ].join('\n') + '\n')
    const expected = ['http://main:1', 'http://both-file:2', 'http://both-directory:3', 'http://up-directory:4', 'http://absolute-main:5', 'http://slash-file:6', 'http://bom-main:7']
    t.strictSame((await loadConfigFile(file)).pools.p!.targets.map((x) => x.url), expected)
    t.strictSame((await loadConfigFile(file)).pools.p!.targets.map((x) => x.url), expected, 'and at the next load')
  })

  t.test('a required directory whose package.json is no JSON object is refused, as Node refuses it, not read as its index', async (t) => {
    const dir = await caseDir(t, 'refused')
    for (const [name, text] of [['notjson', 'nope'], ['empty', ''], ['array', '[]']] as const) {
      await mkdir(join(dir, name))
      await writeFile(join(dir, name, 'package.json'), text)
      await writeFile(join(dir, name, 'index.json'), JSON.stringify(`http://${name}-index:1`))
      const file = await requiringConfig(dir, name, [`export default { pools: { p: { targets: [require('./${name}')] } }, routes: [{ path: '/', pool: 'p' }] }`])
      t.match(await firstTarget(file), { code: 'invalid_config' }, `${name}: refused, not loaded from index.json`)
    }
  })

  // Node's resolver keeps what it read of a package.json: left to it, a package.json broken after a first load was
  // read as it was then, and the reload succeeded with the old "main" back (a fresh start refused the same file)
  t.test('a package.json broken in place after a load is refused at the next load, and the next good one is read', async (t) => {
    const dir = await caseDir(t, 'broken-later')
    await mkdir(join(dir, 'd'))
    await writeFile(join(dir, 'd', 'm.js'), answers('http://m:1'))
    await writeFile(join(dir, 'd', 'n.js'), answers('http://n:1'))
    const file = await requiringConfig(dir, 'routes', [REQUIRES_D])
    const target = (): Promise<unknown> => firstTarget(file)
    await writeFile(join(dir, 'd', 'package.json'), JSON.stringify({ main: 'm.js' }))
    t.equal(await target(), 'http://m:1')
    for (const broken of ['nope', '', '[]']) {
      await writeFile(join(dir, 'd', 'package.json'), broken)
      t.match(await target(), { code: 'invalid_config' }, `package.json ${JSON.stringify(broken)} refused`)
    }
    await writeFile(join(dir, 'd', 'package.json'), JSON.stringify({ main: 'n.js' }))
    t.equal(await target(), 'http://n:1', 'the next good one is read')
  })

  // The same cache the other way: a "main" that named a file at an earlier load and names none now (the package.json
  // removed, emptied of "main", or pointing at a missing file, and no index) is refused, as a fresh start refuses it;
  // left to Node's resolver, the old "main" was loaded again
  t.test('a directory that names no file any more is refused at the next load, not loaded by its old "main"', async (t) => {
    const dir = await caseDir(t, 'main-gone')
    await mkdir(join(dir, 'd'))
    await writeFile(join(dir, 'd', 'm.js'), answers('http://m:1'))
    const file = await requiringConfig(dir, 'routes', [REQUIRES_D])
    const target = (): Promise<unknown> => firstTarget(file)
    const packageJson = join(dir, 'd', 'package.json')
    for (const [label, change] of [
      ['package.json removed', () => rm(packageJson)],
      ['no "main"', () => writeFile(packageJson, '{}')],
      ['"main" names a missing file', () => writeFile(packageJson, JSON.stringify({ main: 'gone.js' }))],
    ] as const) {
      await writeFile(packageJson, JSON.stringify({ main: 'm.js' }))
      t.equal(await target(), 'http://m:1', `${label}: loaded first`)
      await change()
      t.match(await target(), { code: 'invalid_config' }, `${label}: refused`)
    }
  })

  // What the search does not find and is no directory is Node's to decide: require.resolve with `paths` (which the
  // search does not see) was refused once the search threw for every specifier it found nothing for. A "main" with a
  // NUL is refused, as Node refuses the path. (A file blanked by /dev/null mounted over it, which Node reads as an
  // empty file, loads too: checked by hand with plain node; run under tap, even in a child process, that load fails
  // with Node's 'source from the load hook' error, for a reason not yet traced.)
  t.test('require.resolve with paths and a "main" with a NUL load as Node loads them', async (t) => {
    const dir = await caseDir(t, 'node-decides')
    await mkdir(join(dir, 'shared'))
    await writeFile(join(dir, 'shared', 'pools.js'), answers('http://shared:1'))
    // Node reads a "main" with a NUL up to the NUL (a C string): a file there is refused; nothing there (or a
    // directory) names nothing, and the directory's own index is loaded
    for (const [name, files] of [['nul-none', {}], ['nul-file', { m: answers('http://nul-m:1') }], ['nul-dir', { 'm/index.js': answers('http://nul-m-index:1') }]] as const) {
      await mkdir(join(dir, name, 'm'.repeat(name === 'nul-dir' ? 1 : 0)), { recursive: true })
      await writeFile(join(dir, name, 'package.json'), JSON.stringify({ main: 'm\0.js' }))
      await writeFile(join(dir, name, 'index.js'), answers(`http://${name}-index:1`))
      for (const [file, text] of Object.entries(files)) await writeFile(join(dir, name, file), text)
    }
    const config = async (name: string, lines: readonly string[]): Promise<unknown> => firstTarget(await requiringConfig(dir, name, lines))
    const pool = "export default { pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] }"
    t.equal(await config('paths', [`const target = require(require.resolve('./pools', { paths: [${JSON.stringify(join(dir, 'shared'))}] }))`, pool]), 'http://shared:1')
    t.equal(await config('nul-none-main', ["const target = require('./nul-none')", pool]), 'http://nul-none-index:1', 'nothing at the "main" up to its NUL: the index')
    t.match(await config('nul-file-main', ["const target = require('./nul-file')", pool]), { code: 'invalid_config' }, 'a file there: refused')
    t.equal(await config('nul-dir-main', ["const target = require('./nul-dir')", pool]), 'http://nul-dir-index:1', 'a directory there: the index beside package.json')
  })

  // Node's package.json reader is not JSON.parse: it takes the last top-level key spelt "main" without escapes whose
  // value is a string ("m\u0061in" is another key to it; a "main" of another value is skipped, not taken as the last).
  // The gateway reads the "main" afresh at each load, so it must read it as Node does (each case checked against plain
  // node by hand).
  t.test('a package.json "main" read as Node reads it: the last string-valued, unescaped top-level key', async (t) => {
    const dir = await caseDir(t, 'main-as-node')
    const cases: [name: string, packageJson: string, loads: string][] = [
      ['escaped', '{"m\\u0061in":"lib.js"}', 'index'],
      ['last-not-string', '{"main":"lib.js","main":1}', 'lib'],
      ['last-string', '{"main":"lib.js","main":"other.js"}', 'other'],
      ['nested', '{"x":{"main":"other.js"},"main":"lib.js","y":["main"]}', 'lib'],
      ['last-empty', '{"main":"lib.js","main":""}', 'index'],
    ]
    for (const [name] of cases) await mkdir(join(dir, name))
    for (const [name, packageJson] of cases) {
      await writeFile(join(dir, name, 'package.json'), packageJson)
      for (const file of ['index', 'lib', 'other']) await writeFile(join(dir, name, `${file}.js`), answers(`http://${name}-${file}:1`))
    }
    const pool = "export default { pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] }"
    for (const [name, , loads] of cases) {
      t.equal(await firstTarget(await requiringConfig(dir, `${name}-main`, [`const target = require('./${name}')`, pool])), `http://${name}-${loads}:1`, name)
    }
  })
})

// A file the config require()s by absolute path (a Kubernetes Secret mounted at /etc/..., or a path built from
// import.meta.dirname) is read again at the next load, as one required by relative path is (README, Hot reload:
// "files it reads with require()"). Only the relative form was noted for forgetting: Node's CommonJS cache kept the
// absolute one for the process's life, and every reload after an edit ran with the old value.
t.test('load-required-absolute-reread', async (t) => {
  t.test('a file required by absolute path is read again at the next load', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-required-abs-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const data = join(dir, 'secret', 'data.json')
    await mkdir(join(dir, 'secret'))
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, [
      "import { createRequire } from 'node:module'",
      `const { host } = createRequire(import.meta.url)(${JSON.stringify(data)})`,
      "export default { pools: { p: { targets: [`http://${host}:1`] } }, routes: [{ path: '/', pool: 'p' }] }",
    ].join('\n') + '\n')
    await writeFile(data, '{ "host": "one" }\n')
    const target = async (): Promise<string> => (await loadConfigFile(file)).pools.p!.targets[0]!.url
    t.equal(await target(), 'http://one:1')
    await writeFile(data, '{ "host": "two" }\n')
    t.equal(await target(), 'http://two:1', 'the edit is seen')
  })
})

// Node 24 require()s an ES module too (createRequire(import.meta.url)('./pools.mjs'), or a .ts helper written with
// export), and keeps it by its URL in its ES module loader, which forgetting the CommonJS cache does not reach: every
// reload after an edit ran the first version and said "success". Such a config is refused with a problem, as a
// CommonJS config is (an ES module exporting 'module.exports', Node's interop for require(), too); imported instead,
// the same helper is read again at each load. A CommonJS helper of the config's that re-exports a package's ES module
// is CommonJS, and loads.
t.test('load-required-es-module', async (t) => {
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
})

// README (hot reload): a config is run again at every reload, and the files it reads are read again with it: "after
// editing a file the config imports or reads, send SIGHUP or POST /reload". A file the config reads through
// require() (createRequire(import.meta.url)('./port.cjs'), or a .json file) is kept by Node's CommonJS cache, by its
// file name, for the life of the process: without being forgotten before the next load, every reload after an edit
// ran with the old values and reported "unchanged". (src/config/config-modules.ts, the resolve hook notes such files for
// forgetCommonJsHelpers.)
t.test('load-required-file-reread', async (t) => {
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
})

// `reuse` saves an import only when the running config is the one the file's unchanged bytes last gave. When the
// running config is another one (the gateway started from a different config, or refused the file's last result), a
// load of the same bytes must run the file and return what it says: returning the running config instead would make
// a reload report "unchanged" while the file asks for something else, and the file's config would never apply.
t.test('load-reuse-differs', async (t) => {
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
})

// Node never unloads an ES module, so a file event that changed nothing imports nothing: given the running config
// (`reuse`), a load of the bytes that gave it returns it. Every other load runs the config again (what it reads may
// have changed), earlier content included. Each config counts its own evaluations in a global, which is how many
// imports were made (a heap size would be neither exact nor stable).
t.test('load-reuse', async (t) => {
  const counts = globalThis as { evaluations?: Record<string, number> }
  counts.evaluations = {}
  const evaluations = (name: string): number => counts.evaluations![name] ?? 0

  /** A config that counts its evaluations under `name`; `target` tells versions apart. */
  const source = (name: string, target: string, extra = ''): string => `${extra}
  globalThis.evaluations[${JSON.stringify(name)}] = (globalThis.evaluations[${JSON.stringify(name)}] ?? 0) + 1
  export default { pools: { a: { targets: [${JSON.stringify(target)}] } }, routes: [{ path: '/', pool: 'a' }] }
  `

  async function tempDir (t: Test): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  async function loadProblems (file: string): Promise<string[]> {
    try {
      await loadConfigFile(file)
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems]
      throw err
    }
    throw new Error(`${file} loaded without error`)
  }

  const firstTarget = async (file: string): Promise<string> => (await loadConfigFile(file)).pools.a!.targets[0]!.url

  t.test('an unchanged .mjs or .ts config loaded with the config it gave (reuse) is imported once', async (t) => {
    const dir = await tempDir(t)
    for (const ext of ['mjs', 'ts']) {
      const file = join(dir, `routes.config.${ext}`)
      await writeFile(file, source(ext, 'http://a:1', ext === 'ts' ? 'const typed: number = 1\n' : ''))
      const running = await loadConfigFile(file)
      for (let i = 0; i < 5; i++) t.equal(await loadConfigFile(file, { reuse: running }), running, `.${ext} load ${i + 2}`)
      t.equal(evaluations(ext), 1, `.${ext}: one import`)
    }
  })

  t.test('new content is imported and seen; content loaded before is imported again', async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, source('versions', 'http://a:1'))
    t.equal(await firstTarget(file), 'http://a:1')
    await writeFile(file, source('versions', 'http://b:1'))
    t.equal(await firstTarget(file), 'http://b:1', 'the reload sees the new file')
    t.equal(evaluations('versions'), 2)
    await writeFile(file, source('versions', 'http://a:1'))
    t.equal(await firstTarget(file), 'http://a:1', 'back to the first version')
    t.equal(evaluations('versions'), 3, 'which was imported again (what it reads may have changed)')
  })

  t.test('a config that throws is imported again at the next load (what it lacked may be there by then)', async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, source('throws', 'http://a:1', "if (globalThis.evaluations.throws === undefined) { globalThis.evaluations.throws = 0; throw new Error('boom') }\n"))
    t.match(await loadProblems(file), [/^cannot load: /], 'the first load fails')
    t.equal(await firstTarget(file), 'http://a:1', 'the same bytes load the next time')
    t.equal(evaluations('throws'), 1, 'imported again: a failure is not kept')
  })

  t.test('a config in a Kubernetes ConfigMap loads again after the ..data link is swapped (the old directory gone)', async (t) => {
    const dir = await tempDir(t)
    const version = async (name: string, target: string): Promise<void> => {
      await mkdir(join(dir, name))
      await writeFile(join(dir, name, 'routes.config.mjs'), source('configmap', target))
    }
    await version('..v1', 'http://one:1')
    await symlink('..v1', join(dir, '..data'))
    await symlink(join('..data', 'routes.config.mjs'), join(dir, 'routes.config.mjs'))
    const file = join(dir, 'routes.config.mjs')
    t.equal(await firstTarget(file), 'http://one:1')
    // as the kubelet does it: the new version beside the old, a new link renamed over ..data, the old version removed
    await version('..v2', 'http://two:1')
    await symlink('..v2', join(dir, '..data_tmp'))
    await rename(join(dir, '..data_tmp'), join(dir, '..data'))
    await rm(join(dir, '..v1'), { recursive: true })
    t.equal(await firstTarget(file), 'http://two:1', 'the new version, not a failure to find the old one')
  })

  t.test('an invalid config is reported on every load', async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, source('invalid', 'ftp://a:1'))
    for (let i = 0; i < 3; i++) t.match(await loadProblems(file), [/^pools\.a\.targets\[0\]/], `load ${i + 1} fails`)
    t.equal(evaluations('invalid'), 3, 'imported at each load: the fix may be in a file it reads')
  })

  t.test('a config importing a module that is missing loads once the module is there, the config untouched', async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, "import { target } from './targets.mjs'\nexport default { pools: { a: { targets: [target] } }, routes: [{ path: '/', pool: 'a' }] }\n")
    t.match(await loadProblems(file), [/^cannot load: /])
    await writeFile(join(dir, 'targets.mjs'), "export const target = 'http://t:1'\n")
    t.equal(await firstTarget(file), 'http://t:1')
  })

  t.test("a gateway's file events for the unchanged file import nothing; SIGHUP runs the config again", async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, source('gateway', 'http://127.0.0.1:1'))
    const gw = await startGateway({ pools: { a: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'a' }] }, { configFile: file, defaultMetrics: false, env: {} })
    t.teardown(() => gw.close())
    t.not((await gw.gateway.reload('signal')).result, 'error', 'the first reload loads the file')
    for (let i = 0; i < 5; i++) t.equal((await gw.gateway.reload('file')).result, 'unchanged', `file event ${i + 1}`)
    t.equal(evaluations('gateway'), 1)
    t.equal((await gw.gateway.reload('signal')).result, 'unchanged')
    t.equal(evaluations('gateway'), 2, 'an explicit reload runs it')
  })
})

// A Kubernetes Secret or ConfigMap mounted beside the config is a directory of links through `..data`, which the
// kubelet points at a new timestamped directory at every update, then deletes the old one. Node's resolvers
// remember what a link led to for the life of the process, so a config importing or require()ing a file through
// such a mount read the first version at every reload after an update (a stale config applied as "success"), and
// once the old directory was deleted every reload failed ENOENT until a restart. The config's own file was already
// resolved afresh at each load; the files it names by path now are too, a require() without an extension or of a
// directory's index found as Node's resolver finds it (src/config/real-specifier.ts, realSpecifier).
t.test('load-symlink-swap-reread', async (t) => {
  t.test('files read through a swapped ..data link: the new version at the next load, and after the old one is gone', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-symlink-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const mount = join(dir, 'secret')
    for (const [version, host] of [['v1', 'one'], ['v2', 'two']] as const) {
      await mkdir(join(mount, version), { recursive: true })
      await writeFile(join(mount, version, 'hosts.json'), JSON.stringify({ host }))
      await writeFile(join(mount, version, 'port.mjs'), `export const port = ${version === 'v1' ? 1 : 2}\n`)
      await writeFile(join(mount, version, 'scheme.json'), JSON.stringify({ scheme: version === 'v1' ? 'http' : 'https' }))
      await mkdir(join(mount, version, 'paths'))
      await writeFile(join(mount, version, 'paths', 'index.js'), `module.exports = { prefix: '/${version}' }\n`)
    }
    await symlink('v1', join(mount, '..data'))
    await symlink(join('..data', 'hosts.json'), join(mount, 'hosts.json'))
    await symlink(join('..data', 'port.mjs'), join(mount, 'port.mjs'))
    await symlink(join('..data', 'scheme.json'), join(mount, 'scheme.json'))
    await symlink(join('..data', 'paths'), join(mount, 'paths'))
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, [
      "import { createRequire } from 'node:module'",
      "import { port } from './secret/port.mjs'",
      'const require = createRequire(import.meta.url)',
      "const { host } = require('./secret/hosts.json')",
      "const { scheme } = require('./secret/scheme')", // no extension: scheme.json, as Node's resolver finds it
      "const { prefix } = require('./secret/paths')", // a directory: its index.js
      "export default { pools: { p: { targets: [`${scheme}://${host}:${port}`] } }, routes: [{ path: prefix, pool: 'p' }] }",
    ].join('\n') + '\n')
    const target = async (): Promise<string> => {
      const config = await loadConfigFile(file)
      return `${config.pools.p!.targets[0]!.url} ${config.routes[0]!.path}`
    }
    t.equal(await target(), 'http://one:1 /v1')
    // the kubelet's update: a new link renamed over ..data in one step
    await symlink('v2', join(mount, '..data_tmp'))
    await rename(join(mount, '..data_tmp'), join(mount, '..data'))
    t.equal(await target(), 'https://two:2 /v2', 'the imported and the required files, all new')
    await rm(join(mount, 'v1'), { recursive: true })
    t.equal(await target(), 'https://two:2 /v2', 'the old version deleted: still loads')
  })
})

// A config past its load time limit is refused, but nothing can cancel its import: it keeps running. The guard that
// turns the config's process.exit() into a refused load must stay until that import settles, or the left-behind
// import's exit ends the gateway that already refused it (before, the guard went with the time limit, and a config
// that gave up on a slow secret store with process.exit(9) ended the gateway some seconds after the refusal).
t.test('load-timed-out-exit', async (t) => {
  const hooks = globalThis as { resumeLeftBehindConfig?: () => void }

  t.test('a timed-out config that calls process.exit() later cannot end the process', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-timed-out-exit-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const calls: unknown[] = []
    const real = process.exit
    const recorder = ((code?: number | string | null) => { calls.push(code) }) as typeof process.exit
    process.exit = recorder
    t.teardown(() => { process.exit = real; delete hooks.resumeLeftBehindConfig })

    // the test decides when the left-behind import goes on (a secret store answering late), so nothing sleeps
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, "await new Promise((resolve) => { globalThis.resumeLeftBehindConfig = resolve })\nprocess.exit(9)\n" +
      "export default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n")
    const err = await loadConfigFile(file, { timeoutMs: 20 }).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, 'refused once the limit passed')
    t.match((err as ConfigError).problems, [/^cannot load: timed out/])
    t.not(process.exit, recorder, 'the guard stays while the import left behind still runs')

    hooks.resumeLeftBehindConfig!()
    await new Promise((resolve) => setImmediate(resolve))
    t.strictSame(calls, [], 'its process.exit(9) was refused, not passed on')
    t.equal(process.exit, recorder, 'and once that import settled, process.exit is put back')
  })
})

// The problem a config refused for its time limit reports names the limit as configured: whole seconds as seconds
// ("30 s", the default), anything else in milliseconds, never a fraction of a second ("1.001 s") that an operator
// would have to convert back to find the setting (configLoadTimeoutMs) they wrote.
t.test('load-timeout-ms-text', async (t) => {
  t.test('a limit that is no whole number of seconds is said in milliseconds', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-timeout-text-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, "await new Promise(() => {})\nexport default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n")
    const err = await loadConfigFile(file, { timeoutMs: 1001 }).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError)
    t.match((err as ConfigError).problems, [/^cannot load: timed out after 1001 ms/])
  })
})

// A .ts/.mjs config's import runs under a time limit (30 s by default); once the import settles the limit's timer is
// cleared. A timer left behind would keep the process alive until it fires: `switchyard check --config
// routes.config.ts`, which ends when nothing is left to do, would take 30 s to exit after printing its summary.
t.test('load-timer-cleared', async (t) => {
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

  t.test('a config that loads leaves no timer behind', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-timer-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'routes.config.mjs')
    await writeFile(file, "export default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n")
    const before = timers()
    t.equal((await loadConfigFile(file)).pools.p!.targets[0]!.url, 'http://a:1')
    t.equal(timers(), before, 'the time limit is cleared once the import settled')
  })
})
