// A SIGQUIT while the config loads ends the process by the gateway's own handler, as
// SIGTERM and SIGINT do (src/main.ts installStartingSignals). SIGQUIT is a stop signal once serve() runs (STOP_SIGNALS,
// README: nginx's graceful quit, an image's STOPSIGNAL), but before that it has no handler: outside PID 1 the process
// dumps core by the default action, saying nothing; as PID 1 (a container) the kernel drops it and the gateway goes on
// to listen and serve, to be killed undrained at the end of the grace period (review r41i).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
/** No core file from the default action in the working tree. */
const NO_CORE = spawnSync('prlimit', ['--version']).status === 0 ? ['prlimit', '--core=0', NODE] : [NODE]

t.test('a SIGQUIT while the config loads ends the process before it listens, by its own handler', async (t) => {
  const dir = t.testdir()
  const gate = join(dir, 'go')
  const file = join(dir, 'gw.mjs')
  writeFileSync(file, `import { existsSync } from 'node:fs'
process.stderr.write('config loading\\n')
while (!existsSync(${JSON.stringify(gate)})) await new Promise((resolve) => setTimeout(resolve, 20))
export default { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 },
  pools: { p: { targets: ['http://127.0.0.1:9'] } }, routes: [{ path: '/', pool: 'p' }] }
`)
  const [command, ...prefix] = NO_CORE
  const proc = spawn(command!, [...prefix, 'src/main.ts', '--config', file], { cwd: ROOT, env: cliEnv({ SWITCHYARD_SOURCES: '1' }), stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); await exited })
  let stderr = ''
  let stdout = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  while (!stderr.includes('config loading')) await new Promise((resolve) => setTimeout(resolve, 20))
  proc.kill('SIGQUIT')
  await new Promise((resolve) => setTimeout(resolve, 200))
  writeFileSync(gate, '')
  t.same(await exited, { code: null, signal: 'SIGQUIT' }, 'ended by the signal')
  t.match(stderr, /SIGQUIT while starting/, 'said by its own handler (as PID 1, without one, the kernel drops it)')
  t.notMatch(stdout, /switchyard listening on/, 'it never listened')
  t.notOk(existsSync(join(ROOT, 'core')), 'no core file')
})
