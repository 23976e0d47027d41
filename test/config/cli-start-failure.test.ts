// A gateway that cannot start (a port in use, a host that does not resolve, a log file that cannot be opened)
// closes what it opened and exits 1 with one sentence naming the field: it neither keeps running without a
// listener nor exits 0 after a "graceful shutdown" of a gateway that never served.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { cliEnv, writeConfig } from '../helpers/cli-process.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
/** Longer than any start on a busy machine; a CLI still running then is killed and fails the test. */
const GIVE_UP_MS = 20_000

interface Outcome { code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }

async function runCli (t: { teardown (fn: () => unknown): void }, configFile: string, env: Record<string, string> = {}, command: string[] = []): Promise<Outcome> {
  const proc = spawn(NODE, ['src/main.ts', ...command, '--config', configFile], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let stdout = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  const giveUp = setTimeout(() => proc.kill('SIGKILL'), GIVE_UP_MS)
  t.teardown(() => { clearTimeout(giveUp); if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  const [code, signal] = await once(proc, 'close') as [number | null, NodeJS.Signals | null]
  clearTimeout(giveUp)
  return { code, signal, stderr, stdout }
}

async function holdPort (t: { teardown (fn: () => unknown): void }): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as { port: number }).port
}

const dir = t.testdir({})
const config = (name: string, extra: Partial<GatewayConfig>): string => {
  const file = join(dir, `${name}.json`)
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 5000, timeoutMs: 5000 },
    pools: { p: { targets: ['http://127.0.0.1:1'] } },
    routes: [{ path: '/', pool: 'p' }],
    ...extra,
  })
  return file
}

/** Exit 1, not by a signal, and one line on stderr that starts with the field. */
function assertFailedStart (t: Test, outcome: Outcome, field: string): void {
  t.equal(outcome.signal, null, 'exited by itself')
  t.equal(outcome.code, 1, 'exit code 1')
  const lines = outcome.stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line on stderr: ${outcome.stderr}`)
  t.ok(lines[0]!.startsWith(`switchyard: ${field}: `), `it names ${field}`)
  t.notMatch(outcome.stderr, /\n\s+at /, 'no stack trace')
  t.notMatch(outcome.stdout, /shutting down/, 'no graceful shutdown of a gateway that never served')
}

t.test('server.port in use', async (t) => {
  const port = await holdPort(t)
  assertFailedStart(t, await runCli(t, config('server-port', { server: { host: '127.0.0.1', port } })), 'server.port')
})

t.test('admin.port in use', async (t) => {
  const port = await holdPort(t)
  assertFailedStart(t, await runCli(t, config('admin-port', { admin: { host: '127.0.0.1', port }, pools: { p: { targets: ['http://127.0.0.1:1'], healthCheck: {} } } })), 'admin.port')
})

t.test('a server.host that is not an address of this machine', async (t) => {
  // (192.0.2.0/24 is TEST-NET-1: no machine has it, and no DNS lookup is needed to find that out)
  assertFailedStart(t, await runCli(t, config('server-host', { server: { host: '192.0.2.1', port: 0 } })), 'server.host')
})

t.test('a server.host that does not resolve', async (t) => {
  // (.invalid never resolves, RFC 6761: the lookup fails with ENOTFOUND, or EAI_AGAIN where no resolver answers;
  // either way the sentence names the host to fix, not a getaddrinfo message under "cannot listen")
  assertFailedStart(t, await runCli(t, config('server-host-unresolved', { server: { host: 'no-such-host.invalid', port: 0 } })), 'server.host')
})

t.test('an admin token or a cookie secret from the environment shorter than 16 characters', async (t) => {
  assertFailedStart(t, await runCli(t, config('env-token', {}), { SWITCHYARD_ADMIN_TOKEN: 'short' }), 'SWITCHYARD_ADMIN_TOKEN')
  assertFailedStart(t, await runCli(t, config('env-secret', {}), { SWITCHYARD_SECRET: 'short' }), 'SWITCHYARD_SECRET')
})

t.test("the example Secret's placeholders (deploy/kubernetes/secret.yaml) in the environment", async (t) => {
  const placeholders = /stringData:\s+admin-token: (\S+)\s+secret: (\S+)/.exec(readFileSync(join(ROOT, 'deploy/kubernetes/secret.yaml'), 'utf8'))
  t.ok(placeholders, 'the example values, read from the file')
  assertFailedStart(t, await runCli(t, config('env-token-placeholder', {}), { SWITCHYARD_ADMIN_TOKEN: placeholders![1]! }), 'SWITCHYARD_ADMIN_TOKEN')
  assertFailedStart(t, await runCli(t, config('env-secret-placeholder', {}), { SWITCHYARD_SECRET: placeholders![2]! }), 'SWITCHYARD_SECRET')
})

t.test('check refuses what the start would: secrets from the environment included', async (t) => {
  const file = config('check-env', {})
  assertFailedStart(t, await runCli(t, file, { SWITCHYARD_ADMIN_TOKEN: 'REPLACE-ME-with-a-random-token' }, ['check']), 'SWITCHYARD_ADMIN_TOKEN')
  assertFailedStart(t, await runCli(t, file, { SWITCHYARD_ADMIN_TOKEN: 'short' }, ['check']), 'SWITCHYARD_ADMIN_TOKEN')
  assertFailedStart(t, await runCli(t, file, { SWITCHYARD_SECRET: 'x' }, ['check']), 'SWITCHYARD_SECRET')
  const fine = await runCli(t, file, { SWITCHYARD_ADMIN_TOKEN: 'a-random-token-long-enough' }, ['check'])
  t.equal(fine.code, 0, `a good token passes: ${fine.stderr}`)
})

t.test('a log.destination that cannot be opened', async (t) => {
  assertFailedStart(t, await runCli(t, config('log-dir', { log: { destination: dir } })), 'log.destination')
  assertFailedStart(t, await runCli(t, config('log-under-file', { log: { destination: '/dev/null/switchyard.log' } })), 'log.destination')
  // Node's recursive mkdir never returns under /proc: the directories are made one at a time
  assertFailedStart(t, await runCli(t, config('log-under-proc', { log: { destination: '/proc/no-such-dir/switchyard.log' } })), 'log.destination')
})

t.test('a file where the log file\'s directory should be: the sentence names that file as not a directory', async (t) => {
  // (`logs` left as a file where log.destination wants logs/switchyard/gateway.log): the operator is told which
  // path to fix, not only the errno of the open
  const file = join(dir, 'logs')
  writeFileSync(file, '')
  const outcome = await runCli(t, config('log-dir-is-file', { log: { destination: join(file, 'switchyard/gateway.log') } }))
  assertFailedStart(t, outcome, 'log.destination')
  t.match(outcome.stderr, `'${file}' is not a directory`, 'the file at fault named')
})

// A config that leaves a timer open (a secret's refresh loop, a client it connected) kept `check` and a start
// refused for an invalid config running after they printed their verdict: CI hung on `npm run check`.
t.test('a config holding a timer open: check and a refused start still exit', async (t) => {
  const dir = t.testdir()
  const body = (extra: string): string => `setInterval(() => {}, 60_000)
export default { server: { host: '127.0.0.1', port: 0${extra} }, admin: { host: '127.0.0.1', port: 0 }, pools: { a: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'a' }] }
`
  writeFileSync(join(dir, 'good.config.ts'), body(''))
  writeFileSync(join(dir, 'bad.config.ts'), body(', bogus: 1'))
  const check = await runCli(t, join(dir, 'good.config.ts'), {}, ['check'])
  t.match(check, { code: 0, signal: null }, 'check exits 0 (it was killed after 20 s)')
  const start = await runCli(t, join(dir, 'bad.config.ts'))
  t.match(start, { code: 1, signal: null }, 'a refused start exits 1')
  t.match(start.stderr, /server: unknown field/)
})
