// process.exit() called by a CommonJS helper the config imports (pools.cjs) refuses the load like one called by the
// config itself: the helper's stack frames name its file without the load's query, so it is known by the helpers the
// load noted. Let through, the call would end the gateway with nothing logged at the first reload that ran it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

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
