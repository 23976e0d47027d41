// A config past its load time limit is refused, but nothing can cancel its import: it keeps running. The guard that
// turns the config's process.exit() into a refused load must stay until that import settles, or the left-behind
// import's exit ends the gateway that already refused it (before, the guard went with the time limit, and a config
// that gave up on a slow secret store with process.exit(9) ended the gateway some seconds after the refusal).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

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
