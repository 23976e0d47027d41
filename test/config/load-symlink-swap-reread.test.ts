// A Kubernetes Secret or ConfigMap mounted beside the config is a directory of links through `..data`, which the
// kubelet points at a new timestamped directory at every update, then deletes the old one. Node's resolvers
// remember what a link led to for the life of the process, so a config importing or require()ing a file through
// such a mount read the first version at every reload after an update (a stale config applied as "success"), and
// once the old directory was deleted every reload failed ENOENT until a restart. The config's own file was already
// resolved afresh at each load; the files it names by path now are too, a require() without an extension or of a
// directory's index found as Node's resolver finds it (src/config/load.ts, realSpecifier).
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

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
