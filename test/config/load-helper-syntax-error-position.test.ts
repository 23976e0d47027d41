// A syntax error's line and column are reported only when they are the config file's own. When the error is in a
// module the config imports (./helper.ts), the position Node gives is the helper's: reported as "syntax error at
// line 4" against the config, it would send the operator to a line of routes.config.ts that has no error (or does
// not exist). The load is refused with the error's message and no position.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

t.test("a syntax error in an imported module is not placed in the config's own lines", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-helper-syntax-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.ts')
  await writeFile(file, "import { targets } from './helper.ts'\nexport default { pools: { p: { targets } }, routes: [{ path: '/', pool: 'p' }] }\n")
  await writeFile(join(dir, 'helper.ts'), "const port: number = 1\n\n\nexport const targets = [[[ `http://a:${port}`\n")
  const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  t.equal((err as ConfigError).code, 'invalid_config')
  t.match((err as ConfigError).problems, [/^syntax error: /], 'a syntax error, with no line or column of the config')
})
