// A trailing comma is the most common fault in a hand-edited .json config, and V8's own message for it
// ("Unexpected token ']'") does not say what is wrong: the problem a load reports (logged, returned by POST /reload
// with 422 and by `switchyard check`) says that JSON allows no comma before a closing bracket, not merely what
// character was expected.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/errors.ts'
import { loadConfigFile } from '../../src/config/load.ts'

t.test('a trailing comma is named as such', async (t) => {
  const dir = t.testdir({})
  for (const [name, text] of [['array.json', '{ "pools": {}, "routes": [1,] }'], ['object.json', '{ "pools": {},\n  "routes": [],\n}']] as const) {
    const file = join(dir, name)
    await writeFile(file, text)
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.type(err, ConfigError, name)
    t.match((err as ConfigError).problems, [/^syntax error at line \d+, column \d+: .*no comma before a closing bracket/], name)
  }
})
