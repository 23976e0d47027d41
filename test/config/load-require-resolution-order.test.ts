// The files a config require()s are found by the gateway itself (to follow symlinks afresh at each load: a swapped
// ConfigMap ..data link), so it must find the file Node's CommonJS resolver would (Node's docs, "All together"):
// a directory's package.json "main" before its index.js, resolved from the directory (an absolute one replacing it,
// a trailing '/' dropped, a byte order mark skipped); 'x/', '.' and '..' naming a directory only, never a file
// 'x.js' beside it. The first version of that search took lib/index.js over "main", and lib.js for './lib/': a config
// that had loaded one file loaded another after the change. A directory whose package.json is no JSON object is
// refused, as Node refuses it (ERR_INVALID_PACKAGE_CONFIG), not read as its index.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

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
