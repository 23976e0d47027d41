// A .ts/.mjs config's import runs under a time limit (30 s by default); once the import settles the limit's timer is
// cleared. A timer left behind would keep the process alive until it fires: `switchyard check --config
// routes.config.ts`, which ends when nothing is left to do, would take 30 s to exit after printing its summary.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

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
