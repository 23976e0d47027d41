// The problem a config refused for its time limit reports names the limit as configured: whole seconds as seconds
// ("30 s", the default), anything else in milliseconds, never a fraction of a second ("1.001 s") that an operator
// would have to convert back to find the setting (configLoadTimeoutMs) they wrote.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

t.test('a limit that is no whole number of seconds is said in milliseconds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-timeout-text-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, "await new Promise(() => {})\nexport default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n")
  const err = await loadConfigFile(file, { timeoutMs: 1001 }).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  t.match((err as ConfigError).problems, [/^cannot load: timed out after 1001 ms/])
})
