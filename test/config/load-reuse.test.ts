// Node never unloads an ES module, so a file event that changed nothing imports nothing: given the running config
// (`reuse`), a load of the bytes that gave it returns it. Every other load runs the config again (what it reads may
// have changed), earlier content included. Each config counts its own evaluations in a global, which is how many
// imports were made (a heap size would be neither exact nor stable).
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'
import { startGateway } from '../helpers/gateway.ts'

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
