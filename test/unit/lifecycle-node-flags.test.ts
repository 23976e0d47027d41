// `node src/main.ts` re-executes itself with the shipped V8 flags it lacks (process.execve, same pid), unless told
// not to, already done, or the flags are there.
import t from 'tap'
import { applyNodeFlags, missingNodeFlags, C_LIBRARY_ENV, NODE_FLAGS, type ReexecEnvironment } from '../../src/lifecycle/node-flags.ts'

function runtime (over: Partial<ReexecEnvironment> = {}): { env: ReexecEnvironment; calls: [string, string[], NodeJS.ProcessEnv][] } {
  const calls: [string, string[], NodeJS.ProcessEnv][] = []
  const env: ReexecEnvironment = {
    execArgv: [],
    argv: ['/usr/bin/node', '/app/src/main.ts', '--config', 'routes.config.ts'],
    env: { PATH: '/bin' },
    execPath: '/usr/bin/node',
    execve: ((file: string, args: string[], e: NodeJS.ProcessEnv) => { calls.push([file, args, e]) }) as ReexecEnvironment['execve'],
    ...over,
  }
  return { env, calls }
}

t.test('missing flags are judged by name, from execArgv and NODE_OPTIONS alike', async (t) => {
  t.strictSame(missingNodeFlags([]), NODE_FLAGS)
  t.strictSame(missingNodeFlags([...NODE_FLAGS]), [])
  t.strictSame(missingNodeFlags(['--max-semi-space-size=32']), ['--heap-growing-percent=50', '--min-semi-space-size=8', '--disable-sigusr1'], "an operator's own value stands")
  t.strictSame(missingNodeFlags([], '--max_semi_space_size=4 --heap-growing-percent=20 --min-semi-space-size=1 --disable_sigusr1'), [], 'NODE_OPTIONS, underscores or dashes')
})

t.test('re-executes the same program and arguments with the missing flags first, marked so it happens once', async (t) => {
  const { env, calls } = runtime({ execArgv: ['--enable-source-maps'] })
  applyNodeFlags(env)
  t.equal(calls.length, 1)
  const [file, args, childEnv] = calls[0]!
  t.equal(file, '/usr/bin/node')
  t.strictSame(args, ['/usr/bin/node', ...NODE_FLAGS, '--enable-source-maps', '/app/src/main.ts', '--config', 'routes.config.ts'])
  t.equal(childEnv.PATH, '/bin', 'the environment is kept')
  t.equal(childEnv.MALLOC_ARENA_MAX, C_LIBRARY_ENV.MALLOC_ARENA_MAX, 'with the shipped C library settings')
  const again = runtime({ execArgv: ['--enable-source-maps'], env: childEnv })
  applyNodeFlags(again.env)
  t.equal(again.calls.length, 0, 'the re-executed process does not do it again')
})

t.test("an operator's own C library settings stand", async (t) => {
  const { env, calls } = runtime({ env: { PATH: '/bin', MALLOC_ARENA_MAX: '4' } })
  applyNodeFlags(env)
  t.equal(calls[0]![2].MALLOC_ARENA_MAX, '4')
})

t.test('nothing happens with the flags given, when told not to, or without execve', async (t) => {
  for (const over of [{ execArgv: [...NODE_FLAGS] }, { env: { SWITCHYARD_NODE_FLAGS: 'off' } }, { execve: undefined }]) {
    const { env, calls } = runtime(over)
    applyNodeFlags(env)
    t.equal(calls.length, 0, JSON.stringify(over))
  }
})
