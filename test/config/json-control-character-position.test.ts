// A raw control character (a tab, a newline) inside a JSON string is a syntax error (RFC 8259 §7): a .json config
// with one is reported at that character, the first fault in the file, as V8 itself finds it. A scanner that let it
// pass would point the operator at a later spot (here a trailing comma further on the line) and leave the real
// fault unreported until that one is fixed.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/errors.ts'
import { loadConfigFile } from '../../src/config/load.ts'

t.test('a tab inside a JSON string is reported where it is', async (t) => {
  const file = join(t.testdir({}), 'routes.json')
  await writeFile(file, '{\n  "pools": {},\n  "routes": ["a\tb", ]\n}\n')
  const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  const problems = (err as ConfigError).problems
  t.equal(problems.length, 1)
  const at = /^syntax error at line (\d+), column (\d+): /.exec(problems[0] ?? '')
  t.strictSame(at === null ? undefined : [Number(at[1]), Number(at[2])], [3, 16], `the tab, not the comma after it: ${problems[0]}`)
})
