// --help and --version answer whatever else the command line holds (src/cli/args.ts CliArgs: "whatever else was
// given"), as `git lint --help` would not but `nginx -h` does (review r41f: only `check --help` was tested, so a
// parser checking the command first, refusing `lint --help` as an unknown command, passed). A bad option still
// refuses: Node's parser reads options before anything else.
import t from 'tap'
import { parseArgs } from '../../src/cli/args.ts'

t.test('--help and --version win over a positional the CLI would refuse', async (t) => {
  const cases: Array<[string[], string]> = [
    [['lint', '--help'], 'help'],
    [['check', 'extra', '-h'], 'help'],
    [['bogus', '--version'], 'version'],
    [['run', 'extra', 'more', '-V'], 'version'],
  ]
  for (const [argv, command] of cases) t.equal(parseArgs(argv, {}).command, command, argv.join(' '))
})

t.test('a bad option refuses even beside --help', async (t) => {
  t.throws(() => parseArgs(['--bogus', '--help'], {}), { code: 'usage' })
})
