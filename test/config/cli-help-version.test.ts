// `--help` and `--version` through the real CLI (review r41f: only parseArgs was tested, so the CLI could print
// either to stderr, exit 1, or fail reading package.json, and no test said so): each prints its answer on stdout,
// nothing on stderr, exits 0, and loads no config (SWITCHYARD_CONFIG names a file that does not exist).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { runCliOnce, type CliRun } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }

async function run (t: { teardown (fn: () => unknown): void }, args: string[]): Promise<CliRun> {
  return runCliOnce(t, args, { SWITCHYARD_CONFIG: join(ROOT, 'no-such-dir', 'routes.config.ts') })
}

t.test('--help and -h: the usage on stdout, exit 0', async (t) => {
  for (const args of [['--help'], ['-h'], ['check', '--help']]) {
    const res = await run(t, args)
    t.equal(res.code, 0, args.join(' '))
    t.match(res.stdout, /^usage: switchyard /, `${args.join(' ')}: the usage on stdout`)
    t.equal(res.stderr, '', `${args.join(' ')}: nothing on stderr`)
  }
})

t.test("--version and -V: the package's version on stdout, exit 0", async (t) => {
  for (const args of [['--version'], ['-V']]) {
    const res = await run(t, args)
    t.equal(res.code, 0, args.join(' '))
    t.equal(res.stdout, `switchyard ${version}\n`, args.join(' '))
    t.equal(res.stderr, '', `${args.join(' ')}: nothing on stderr`)
  }
})
