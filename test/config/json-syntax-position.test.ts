// Every syntax error in a .json config is reported at its line and column, including those V8 gives no position
// for (a trailing comma, a byte order mark, an input that ends early).
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/errors.ts'
import { loadConfigFile } from '../../src/config/load.ts'

const cases: Array<{ name: string; text: string; line: number; column: number }> = [
  { name: 'a trailing comma in an array', text: '{\n  "pools": { "p": { "targets": ["http://127.0.0.1:1"] } },\n  "routes": [\n    { "path": "/", "pool": "p" },\n  ]\n}\n', line: 5, column: 3 },
  { name: 'a trailing comma in an object', text: '{\n  "pools": {},\n  "routes": [],\n}\n', line: 4, column: 1 },
  { name: 'the input ending early', text: '{\n  "pools": ', line: 2, column: 12 },
  { name: 'a byte order mark', text: '\ufeff{}', line: 1, column: 1 },
  { name: 'a property name without quotes', text: '{\n  pools: {}\n}', line: 2, column: 3 },
  { name: 'a missing comma', text: '{\n  "pools": {}\n  "routes": []\n}', line: 3, column: 3 },
  { name: 'text after the value', text: '{}\n}', line: 2, column: 1 },
]

const dir = t.testdir({})
for (const [i, c] of cases.entries()) {
  t.test(c.name, async (t) => {
    const file = join(dir, `c${i}.json`)
    await writeFile(file, c.text)
    const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ConfigError, 'a ConfigError')
    const problems = (err as ConfigError).problems
    t.equal(problems.length, 1)
    const at = /^syntax error at line (\d+), column (\d+): /.exec(problems[0] ?? '')
    t.strictSame(at === null ? undefined : [Number(at[1]), Number(at[2])], [c.line, c.column], `line ${c.line}, column ${c.column}: ${problems[0]}`)
    t.notMatch(problems[0] ?? '', '...', 'no truncated excerpt')
  })
}
