// A config that calls process.exit() while it is imported (at its top level, or after a top-level await) is refused
// with a problem that says so, and the gateway keeps running; before, it ended the gateway with exit code 0 and
// nothing logged. Only the config's own calls are refused, and only during its load: a shutdown that ends while a
// slow config loads still exits, and process.exit is put back afterwards.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

const config = (before: string): string =>
  `${before}\nexport default { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n`

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-exit-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** process.exit replaced by a recorder for the test (the real one would end the test run). */
function recordExits (t: Test): (number | string | null | undefined)[] {
  const calls: (number | string | null | undefined)[] = []
  const real = process.exit
  process.exit = ((code?: number | string | null) => { calls.push(code) }) as typeof process.exit
  t.teardown(() => { process.exit = real })
  return calls
}

t.test('process.exit() from the config, at its top level or after an await, refuses the load', async (t) => {
  const dir = await tempDir(t)
  const calls = recordExits(t)
  const recorder = process.exit
  const cases = [
    ['top.ts', 'process.exit(0)'],
    ['awaited.mjs', 'await new Promise((resolve) => setTimeout(resolve, 5))\nprocess.exit(3)'],
    ['helper.ts', "import './helper-exits.ts'"],
  ]
  await writeFile(join(dir, 'helper-exits.ts'), 'process.exit()\n')
  for (const [name, code] of cases) {
    const file = join(dir, name!)
    await writeFile(file, config(code!))
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, name)
    t.match((err as ConfigError).problems, [/^cannot load: .*process\.exit/], name)
  }
  t.strictSame(calls, [], 'the process was never asked to exit')
  t.equal(process.exit, recorder, 'process.exit is put back after each load')
})

t.test('while a config loads, anyone else may still exit', async (t) => {
  const file = join(await tempDir(t), 'slow.mjs')
  await writeFile(file, config('await new Promise((resolve) => setTimeout(resolve, 50))'))
  const calls = recordExits(t)
  const loading = loadConfigFile(file)
  await new Promise((resolve) => setTimeout(resolve, 10))
  process.exit(7) // as a shutdown ending meanwhile would
  t.strictSame(calls, [7], 'the call went through')
  t.equal((await loading).pools.p!.targets[0]!.url, 'http://a:1')
})
