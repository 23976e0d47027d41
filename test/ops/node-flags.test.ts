// `node src/main.ts` started without the shipped V8 flags runs with them anyway: it starts itself again with them,
// in place (process.execve), and says which it runs with in its listening line. SWITCHYARD_NODE_FLAGS=off
// keeps the process as started.
import { join } from 'node:path'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const hasExecve = typeof (process as { execve?: unknown }).execve === 'function'

t.test('the CLI runs with the shipped V8 flags, unless told not to', { skip: hasExecve ? false : 'needs process.execve (Node ≥ 23.11, not Windows)' }, async (t) => {
  const upstream = await TestUpstream.start()
  t.teardown(() => upstream.close())
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, shutdown: { delayMs: 0, timeoutMs: 1000 }, pools: { app: { targets: [upstream.url] } }, routes: [{ path: '/', pool: 'app' }] })
  for (const [env, expected] of [[{}, NODE_FLAGS], [{ SWITCHYARD_NODE_FLAGS: 'off' }, []]] as const) {
    const cli = await startCli(t, file, { env })
    const listening = await cli.waitForRecord((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening'))
    t.strictSame((listening.nodeFlags as string[]).filter((f) => NODE_FLAGS.includes(f)), expected, JSON.stringify(env))
    // the process to signal (a restart with the flags keeps the pid: process.execve)
    t.equal(listening.pid, cli.proc.pid, 'the listening line names its pid')
    t.equal((await fetch(cli.url)).status, 200, 'and serves')
    cli.kill('SIGTERM')
    t.same(await cli.exited, { code: 0, signal: null })
  }
})
