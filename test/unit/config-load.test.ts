import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

const dir = await mkdtemp(join(tmpdir(), 'switchyard-config-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const TS_CONFIG = `
interface Shape { pools: Record<string, { targets: string[]; balancer?: string }>; routes: { path: string; pool: string }[] }
const port: number = 3001
const config: Shape = {
  pools: { payment: { targets: [\`http://127.0.0.1:\${port}\`], balancer: 'p2c' } },
  routes: [{ path: '/payment', pool: 'payment' }],
}
export default config
`

async function write (name: string, content: string): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, content)
  return file
}

async function loadError (file: string): Promise<ConfigError> {
  try {
    await loadConfigFile(file)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`${file} loaded without error`)
}

t.test('loads a .ts config with types and export default', async (t) => {
  const config = await loadConfigFile(await write('routes.config.ts', TS_CONFIG))
  t.equal(config.pools.payment!.balancer, 'p2c')
  t.equal(config.pools.payment!.targets[0]!.url, 'http://127.0.0.1:3001')
  t.equal(config.routes[0]!.path, '/payment')
  t.equal(config.server.port, 8080, 'defaults applied')
  t.ok(Object.isFrozen(config), 'validated and frozen')
})

t.test('loads .mjs and .json configs', async (t) => {
  const mjs = await loadConfigFile(await write('c.mjs', "export default { pools: { a: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'a' }] }"))
  t.equal(mjs.pools.a!.targets[0]!.url, 'http://a:1')
  const json = await loadConfigFile(await write('c.json', JSON.stringify({ pools: { j: { targets: ['http://j:1'] } }, routes: [{ path: '/j', pool: 'j' }] })))
  t.equal(json.routes[0]!.pool, 'j')
  t.equal(json.pools.j!.retry.attempts, 3, 'defaults applied')
})

t.test('a relative path is resolved from the working directory', async (t) => {
  const file = await write('relative.config.ts', TS_CONFIG)
  const rel = relative(process.cwd(), file)
  t.notOk(isAbsolute(rel))
  t.equal((await loadConfigFile(rel)).pools.payment!.balancer, 'p2c')
})

t.test('a reload sees the new file content', async (t) => {
  const file = await write('reload.config.ts', "export default { pools: { a: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'a' }] }")
  t.equal((await loadConfigFile(file)).pools.a!.targets.length, 1)
  await writeFile(file, "export default { pools: { a: { targets: ['http://a:1', 'http://b:1'] } }, routes: [{ path: '/', pool: 'a' }] }")
  t.equal((await loadConfigFile(file)).pools.a!.targets.length, 2)
})

t.test('failures are ConfigErrors', async (t) => {
  const cases: { name: string; file: () => Promise<string>; problem: RegExp }[] = [
    { name: 'missing file', file: async () => join(dir, 'does-not-exist.config.ts'), problem: /^no such file$/ },
    { name: 'missing json file', file: async () => join(dir, 'does-not-exist.json'), problem: /^no such file$/ },
    { name: 'a directory', file: async () => dir, problem: /^is not a file$/ },
    { name: 'no default export', file: () => write('named.config.ts', 'export const config = { routes: [] }'), problem: /default export/ },
    { name: 'syntax error', file: () => write('broken.config.ts', 'export default { pools: '), problem: /^syntax error at line 1, column \d+: / },
    { name: 'syntax error on a later line', file: () => write('broken2.config.ts', 'export default {\n  pools: {},\n  routes: [ { path: \'/\' } ]]\n}\n'), problem: /^syntax error at line 3, column \d+: / },
    { name: 'syntax error in JavaScript', file: () => write('broken.config.mjs', 'export default {\n  pools: {},\n  routes: [ ]]\n}\n'), problem: /^syntax error at line 3, column 14: / },
    { name: 'syntax error in JSON', file: () => write('broken2.json', '{\n  "pools": {,\n}'), problem: /^syntax error at line 2, column 13: / },
    { name: 'module throws', file: () => write('throws.config.ts', "throw new Error('boom')\nexport default {}"), problem: /^cannot load: / },
    { name: 'bad json', file: () => write('broken.json', '{ "pools": '), problem: /^syntax error/ },
    { name: 'invalid config', file: () => write('invalid.config.ts', "export default { pools: {}, routes: [{ path: '/', pool: 'ghost' }] }"), problem: /^routes\[0\]\.pool: / },
  ]
  for (const c of cases) {
    const err = await loadError(await c.file())
    t.equal(err.code, 'invalid_config', c.name)
    t.ok(err.problems.some((p) => c.problem.test(p)), `${c.name}: ${JSON.stringify(err.problems)}`)
  }
})

t.test('the shipped routes.config.ts validates', async (t) => {
  const config = await loadConfigFile(new URL('../../routes.config.ts', import.meta.url).pathname)
  t.strictSame(Object.keys(config.pools).sort(), ['member', 'payment'])
  t.equal(config.pools.payment!.targets.length, 3)
  t.equal(config.pools.payment!.targets.filter((x) => x.backup).length, 1)
  t.equal(config.pools.member!.balancer, 'least-connections')
  t.strictSame(config.routes.map((r) => r.path), ['/payment', '/member'])
})
