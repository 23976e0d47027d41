// A config written as code, at the edges of the loader: a directory whose path has parentheses, helpers imported
// through package.json "imports", an export that throws when read, an empty .ts file, a syntax error in a helper.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { configModuleOf } from '../../src/config/config-modules.ts'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

const BODY = "{ pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }"

async function refusal (file: string): Promise<ConfigError> {
  const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
  return err
}

/** The file a ConfigError is about: its message starts '<file>: invalid config:'. */
function fileOf (err: ConfigError): string | undefined {
  return /^(.*): invalid config:/.exec(err.message)?.[1]
}

// A frame's URL keeps '(' and ')' as they are: the exit guard and the rejection attribution (main.ts) did not know
// such a config's frames, so its process.exit() ended the gateway, and its stray rejection was fatal.
t.test('a config in a directory with parentheses, a space and non-ASCII in its path is known by its frames', async (t) => {
  const dir = join(t.testdir(), 'team (copy) ü')
  mkdirSync(dir)

  // process.exit is a stub here: the guard puts through what it does not take for the config's, to this stub
  const realExit = process.exit
  const passedThrough: unknown[] = []
  process.exit = ((code?: number) => {
    passedThrough.push(code)
    throw new Error('process.exit reached the process')
  }) as typeof process.exit
  t.teardown(() => { process.exit = realExit })

  const exiting = join(dir, 'exit.config.ts')
  writeFileSync(exiting, `process.exit(0)\nexport default ${BODY}\n`)
  const err = await refusal(exiting)
  t.match(err.problems, [/process\.exit\(0\)/], 'the exit is refused as the config\'s')
  t.strictSame(passedThrough, [], 'and never reaches the process')

  const stray = join(dir, 'stray.config.ts')
  writeFileSync(join(dir, 'vault.ts'), "(globalThis as { helperReason?: Error }).helperReason = new Error('vault down')\nexport const vault = 1\n")
  writeFileSync(stray, `import './vault.ts'\n(globalThis as { configReason?: Error }).configReason = new Error('stray')\nexport default ${BODY}\n`)
  await loadConfigFile(stray)
  const reasons = globalThis as { configReason?: Error; helperReason?: Error }
  t.equal(configModuleOf(reasons.configReason), stray, 'a rejection made by the config names it')
  t.equal(configModuleOf(reasons.helperReason), join(dir, 'vault.ts'), 'one made by a helper it imports names the helper')
  t.equal(configModuleOf(new Error('gateway')), undefined, 'the gateway\'s own is nobody\'s config')
})

// A '#' import named a file of the config's own, yet was never given the load's query: Node kept the first instance
// and an edit to the helper was never seen by a reload. One that leads into node_modules is a package, run once.
t.test('a helper imported through package.json "imports" is read again at each load; a package it maps to is not', async (t) => {
  const dir = t.testdir({
    'package.json': JSON.stringify({ type: 'module', imports: { '#pools': './lib/pools.ts', '#counted': 'counted-esm' } }),
    lib: { 'pools.ts': "export const targets = ['http://a:1']\n" },
    node_modules: {
      'counted-esm': {
        'package.json': JSON.stringify({ name: 'counted-esm', type: 'module', exports: './index.js' }),
        'index.js': 'globalThis.countedEsmRuns = (globalThis.countedEsmRuns ?? 0) + 1\nexport const port = 2\n',
      },
    },
  })
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, "import { targets } from '#pools'\nimport { port } from '#counted'\n" +
    "export default { pools: { p: { targets }, q: { targets: [`http://q:${port}`] } }, routes: [{ path: '/', pool: 'p' }] }\n")
  t.strictSame((await loadConfigFile(file)).pools.p!.targets.map((x) => x.url), ['http://a:1'])
  writeFileSync(join(dir, 'lib', 'pools.ts'), "export const targets = ['http://b:1']\n")
  const second = await loadConfigFile(file)
  t.strictSame(second.pools.p!.targets.map((x) => x.url), ['http://b:1'], 'the edited helper is seen')
  t.equal(second.pools.q!.targets[0]!.url, 'http://q:2')
  t.equal((globalThis as { countedEsmRuns?: number }).countedEsmRuns, 1, 'the package ran once')
})

// The export is read by validation, which ran outside the load's error handling: the CLI printed a stack trace, and a
// reload's problem named neither the file nor what went wrong with it.
t.test('an export that throws when read is refused with its file and no stack', async (t) => {
  const dir = t.testdir()
  const getter = join(dir, 'getter.config.ts')
  writeFileSync(getter, `const config = ${BODY}\n` +
    "Object.defineProperty(config, 'log', { enumerable: true, get () { throw Object.assign(new Error('secret store unreachable\\n  at vault'), { code: 'EMFILE' }) } })\n" +
    'export default config\n')
  let err = await refusal(getter)
  t.equal(fileOf(err), getter)
  t.match(err.problems, [/^cannot read the exported config: secret store unreachable$/], 'the first line of what was thrown')
  t.equal(err.cause, undefined, 'no cause: its code is not a failure of the gateway\'s own')

  const proxy = join(dir, 'proxy.config.ts')
  writeFileSync(proxy, `export default new Proxy(${BODY}, { ownKeys () { throw new Error('trap') } })\n`)
  err = await refusal(proxy)
  t.equal(fileOf(err), proxy)
  t.match(err.problems, [/^cannot read the exported config: trap$/])

  const invalid = join(dir, 'invalid.config.ts')
  writeFileSync(invalid, "export default { pools: {}, routes: [{ path: '/', pool: 'nope' }], bogus: 1 }\n")
  err = await refusal(invalid)
  t.ok(err.problems.length > 0 && err.problems.every((p) => !p.startsWith('cannot read')), 'an invalid config\'s problems are as validation gives them')
})

// Node runs a .ts with no import or export as CommonJS, and the loader refused it as CommonJS: an empty file (caught
// mid-save) or one with only comments was told to "use ESM".
t.test('an empty .ts config, or one of comments only, has no default export', async (t) => {
  // a package.json with no "type": a .ts is CommonJS or ESM by its syntax
  const dir = t.testdir({ 'package.json': '{}' })
  for (const [name, text] of [['empty.config.ts', ''], ['comments.config.ts', '// TODO: pools\n/* routes */\n']] as const) {
    const file = join(dir, name)
    writeFileSync(file, text)
    const err = await refusal(file)
    t.equal(fileOf(err), file, name)
    t.strictSame(err.problems, ['has no default export'], name)
  }
  const cjs = join(dir, 'cjs.config.ts')
  writeFileSync(cjs, `module.exports = ${BODY}\n`)
  t.match((await refusal(cjs)).problems, [/^cannot load: .*CommonJS/], 'a CommonJS one is still refused as CommonJS')
})

// Only a syntax error in the config file itself had its position given; one in a helper was said under the config's
// path with no file, line or column.
t.test('a syntax error in a helper names the helper, its line and its column', async (t) => {
  const dir = t.testdir({
    'pools.ts': "export const pools = {\n  p: { targets: ['http://a:1'] },,\n}\n",
    'routes.config.ts': "import { pools } from './pools.ts'\nexport default { pools, routes: [{ path: '/', pool: 'p' }] }\n",
    'own.config.ts': "export default {\n  pools: {,\n}\n",
  })
  const file = join(dir, 'routes.config.ts')
  const err = await refusal(file)
  t.equal(fileOf(err), file)
  t.equal(err.problems.length, 1)
  const m = /^syntax error in (.+) at line (\d+), column (\d+): /.exec(err.problems[0]!)
  t.ok(m, err.problems[0])
  t.strictSame(m?.slice(1), [join(dir, 'pools.ts'), '2', '34'], 'the helper, line and column')

  const own = await refusal(join(dir, 'own.config.ts'))
  t.match(own.problems, [/^syntax error at line 2, column \d+: /], 'one in the config itself is said as before')
})

// Edges of the code-config loader the existing tests leave open:
// - a .ts Node runs as CommonJS for its `exports.x =` or require() (no module.exports) is refused as CommonJS, not
//   said to have no default export (only module.exports was tried);
// - a syntax error in the config itself, loaded through a symlink, is said as the config's, not as a helper's named
//   by the link's target;
// - a helper imported with a query of its own ('./vault.ts?v=1') is still known by its frames.
t.test('load-code-markers-links', async (t) => {
  const BODY = "{ pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }"

  async function refusal (file: string): Promise<ConfigError> {
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`)
    return err
  }

  t.test('a .ts config using exports.x or require() only is refused as CommonJS', async (t) => {
    const dir = t.testdir({ 'package.json': '{}' })
    const cases = [
      ['exports.config.ts', `exports.default = ${BODY}\n`],
      ['require.config.ts', "const { sep } = require('node:path')\nconsole.log(sep)\n"],
    ] as const
    for (const [name, text] of cases) {
      const file = join(dir, name)
      writeFileSync(file, text)
      t.match((await refusal(file)).problems, [/^cannot load: .*CommonJS/], name)
    }
  })

  t.test('a syntax error in a config loaded through a symlink is the config\'s own', async (t) => {
    const dir = t.testdir({ real: { 'own.config.ts': "export default {\n  pools: {,\n}\n" } })
    mkdirSync(join(dir, 'mounted'))
    const link = join(dir, 'mounted', 'routes.config.ts')
    symlinkSync(join(dir, 'real', 'own.config.ts'), link)
    const err = await refusal(link)
    t.match(err.problems, [/^syntax error at line 2, column \d+: /], 'said as before, with no other file named')
  })

  t.test('a helper imported with its own query is known by its frames', async (t) => {
    const dir = t.testdir({
      'vault.ts': "(globalThis as { queriedHelperReason?: Error }).queriedHelperReason = new Error('vault down')\nexport const vault = 1\n",
    })
    const file = join(dir, 'routes.config.ts')
    writeFileSync(file, `import './vault.ts?v=1'\nexport default ${BODY}\n`)
    await loadConfigFile(file)
    const reason = (globalThis as { queriedHelperReason?: Error }).queriedHelperReason
    t.match(reason?.stack, /vault\.ts\?v=1&load=\d+/, 'the frame carries both queries')
    t.equal(configModuleOf(reason), join(dir, 'vault.ts'), 'the helper is named')
  })
})

// A SyntaxError a config throws itself (a YAML or secrets parser it runs at its top level) may end its first line
// with ':<digits>', as a parser's "file:line" does: that is no stack head naming a file, and it is said as the
// error's own message, not as "syntax error in SyntaxError: … at line 12".
t.test('load-syntax-error-head', async (t) => {
  t.test('a thrown SyntaxError whose message ends with ":12" names no file', async (t) => {
    const file = join(t.testdir(), 'routes.config.ts')
    writeFileSync(file, "throw new SyntaxError('unexpected tab in secrets.yaml:12')\nexport default {}\n")
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ConfigError)
    t.strictSame((err as ConfigError).problems, ['syntax error: unexpected tab in secrets.yaml:12'])
  })
})
