// A config split over files (`import { targets } from './pools.ts'`) is read whole at every load: the modules it
// imports by relative path, and theirs, are run again, as the config itself is. Before, only the config's own URL
// got a fresh query, Node kept the imported modules for the life of the process, and an edit to pools.ts was never
// seen, not even after the config file itself changed. Packages (node_modules) are imported once, as ever.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

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
