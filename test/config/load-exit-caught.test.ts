// A config that calls process.exit() while it loads is refused (README, Hot reload), even when it catches the
// error the guard throws, and however deep below the config the call is made. Before, a config that caught the
// error loaded as if nothing happened, and a call made more than ten frames below the config's own code (Node's
// default stack depth) was not recognised as the config's and ended the process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

const config = (before: string): string =>
  `${before}\nexport default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n`

function recordExits (t: Test): unknown[] {
  const calls: unknown[] = []
  const real = process.exit
  process.exit = ((code?: number | string | null) => { calls.push(code) }) as typeof process.exit
  t.teardown(() => { process.exit = real })
  return calls
}

t.test('a config that catches its own process.exit() error is refused all the same', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-exit-caught-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const calls = recordExits(t)
  // a helper that is not the config's own module (no load query on its frames) and recurses past ten frames
  const deep = 'data:text/javascript,export function exitDeep (n) { return n === 0 ? process.exit(5) : exitDeep(n - 1) }'
  const cases: [string, string][] = [
    ['caught.mjs', 'try { process.exit(2) } catch {}'],
    ['caught-late.ts', 'await new Promise((resolve) => setTimeout(resolve, 1))\ntry { process.exit(3) } catch {}'],
    ['deep.mjs', `import { exitDeep } from '${deep}'\ntry { exitDeep(20) } catch {}`],
  ]
  for (const [name, code] of cases) {
    const file = join(dir, name)
    await writeFile(file, config(code))
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, name)
    t.match((err as ConfigError).problems, [/^cannot load: .*process\.exit/], name)
  }
  t.strictSame(calls, [], 'the process was never asked to exit')
})
