// A config that calls process.exit() more than once during its load, catching the refusals, is refused naming the
// first call's code: the first call is where the config meant to stop (usually with the code that says why: a
// missing secret, exit 1), and what it tried after catching that refusal is a consequence, not the cause.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

t.test('the refusal names the code of the first process.exit() call', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-exit-first-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, 'try { process.exit(1) } catch {}\ntry { process.exit(2) } catch {}\n' +
    "export default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n")
  const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  t.match((err as ConfigError).problems, [/^cannot load: .*process\.exit\(1\)/])
})
