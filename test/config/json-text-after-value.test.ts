// A .json config with something after its value (a stray closing brace left by an edit, a second object pasted
// below the first) is reported in the same terms as every other JSON fault: where, what was found, and what was
// expected there (the end of the file), not V8's "Unexpected non-whitespace character after JSON", which does not
// say that the config's value had already ended.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/errors.ts'
import { loadConfigFile } from '../../src/config/load.ts'

t.test('text after the value: the end of the file was expected', async (t) => {
  const file = join(t.testdir({}), 'routes.json')
  await writeFile(file, '{ "pools": {}, "routes": [] }\n}\n')
  const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  t.match((err as ConfigError).problems, [/^syntax error at line 2, column 1: .*expected the end of the file/])
})
