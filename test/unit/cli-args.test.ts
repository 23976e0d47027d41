// The command line (src/cli/args.ts), table-driven: --help and --version (review r41b: neither existed, and `--help`
// got Node's advice to put it after `--`, which then failed as an unknown command), an unknown option named as this
// CLI's problem, and an empty SWITCHYARD_CONFIG taken as unset (it was taken as a file name: "- is not a file").
import t from 'tap'
import { parseArgs } from '../../src/cli/args.ts'

const DEFAULT = './routes.config.ts'

t.test('what each command line asks for', async (t) => {
  const cases: Array<[string[], NodeJS.ProcessEnv, { command: string; configFile: string }]> = [
    [[], {}, { command: 'run', configFile: DEFAULT }],
    [['check'], {}, { command: 'check', configFile: DEFAULT }],
    [['--help'], {}, { command: 'help', configFile: DEFAULT }],
    [['-h'], {}, { command: 'help', configFile: DEFAULT }],
    [['check', '--help'], {}, { command: 'help', configFile: DEFAULT }],
    [['--version'], {}, { command: 'version', configFile: DEFAULT }],
    [['-V'], {}, { command: 'version', configFile: DEFAULT }],
    [[], { SWITCHYARD_CONFIG: '' }, { command: 'run', configFile: DEFAULT }],
    [['check'], { SWITCHYARD_CONFIG: '/etc/s/routes.config.ts' }, { command: 'check', configFile: '/etc/s/routes.config.ts' }],
    [['check', '-c', 'a.ts'], { SWITCHYARD_CONFIG: '/etc/s/routes.config.ts' }, { command: 'check', configFile: 'a.ts' }],
  ]
  for (const [argv, env, expected] of cases) t.same(parseArgs(argv, env), expected, `${argv.join(' ')} ${JSON.stringify(env)}`)
})

t.test('a bad command line is a usage error naming what is wrong', async (t) => {
  const cases: Array<[string[], string]> = [
    [['--bogus'], "'--bogus'"],
    [['-x'], "'-x'"],
    [['--config'], "'--config'"],
    [['--help=1'], "'--help'"],
    [['lint'], "'lint'"],
    [['check', 'extra'], "'extra'"],
  ]
  for (const [argv, named] of cases) {
    t.throws(() => parseArgs(argv, {}), { code: 'usage' }, argv.join(' '))
    try {
      parseArgs(argv, {})
    } catch (err) {
      t.ok((err as Error).message.includes(named), `${argv.join(' ')} names ${named}`)
      t.notMatch((err as Error).message, /--\s*"/, 'no advice to put it after --')
    }
  }
})

t.test('a value missing and a value given to an option that takes none are told apart', async (t) => {
  const problem = (argv: string[]): string => { try { parseArgs(argv, {}); return '' } catch (err) { return (err as Error).message } }
  t.match(problem(['--config']), /needs a value/)
  t.match(problem(['--help=1']), /takes no value/)
  t.match(problem(['--version=x']), /takes no value/)
})
