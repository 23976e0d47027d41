// A file the config require()s by absolute path (a Kubernetes Secret mounted at /etc/..., or a path built from
// import.meta.dirname) is read again at the next load, as one required by relative path is (README, Hot reload:
// "files it reads with require()"). Only the relative form was noted for forgetting: Node's CommonJS cache kept the
// absolute one for the process's life, and every reload after an edit ran with the old value.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

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
