// The command line: `switchyard check` describes a valid config and lists every problem of an invalid one;
// running it serves traffic and shuts down cleanly on SIGTERM.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv } from '../helpers/cli-process.ts'
import { httpRequest } from './http.ts'
import { upstream } from './setup.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const MAIN = 'src/main.ts'
const VALID = 'test/fixtures/cli-valid.config.ts'

interface Run { code: number | null; stdout: string; stderr: string }

function run (args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE, [MAIN, ...args], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    proc.once('error', reject)
    proc.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

// The `check` runs are independent: start them all at once, then look at each in its own test.
const fixtures = t.testdir({
  'bad.config.json': JSON.stringify({
    bogus: true,
    server: { port: 70000 },
    pools: {
      a: { targets: [], balancer: 'nope' },
      b: { targets: ['ftp://x', 'http://127.0.0.1:1', 'http://127.0.0.1:1'], timeouts: { connectMs: -5 } },
    },
    routes: [{ path: 'no-slash', pool: 'zzz' }, { path: '/ok', pool: 'a', methods: ['fetch'] }],
  }),
  'broken.config.ts': 'export default {\n  pools: {\n',
})
const runs = {
  valid: run(['check', '--config', VALID]),
  validEquals: run(['check', `--config=${VALID}`]),
  invalid: run(['check', '--config', join(fixtures, 'bad.config.json')]),
  broken: run(['check', '--config', join(fixtures, 'broken.config.ts')]),
  missing: run(['check', '--config', 'test/fixtures/does-not-exist.config.ts']),
  unknownArg: run(['chekc']),
  env: run(['check'], { SWITCHYARD_CONFIG: VALID }),
  envMissing: run(['check'], { SWITCHYARD_CONFIG: 'test/fixtures/nope.config.ts' }),
  // --config beats SWITCHYARD_CONFIG; an unknown option or a second positional is a usage error, never ignored
  flagOverEnv: run(['check', '--config', VALID], { SWITCHYARD_CONFIG: 'test/fixtures/nope.config.ts' }),
  unknownOption: run(['check', '--verbose'], { SWITCHYARD_CONFIG: VALID }),
  extraArg: run(['check', 'extra'], { SWITCHYARD_CONFIG: VALID }),
  short: run(['check', '-c', VALID]),
}

t.test('check: a valid config exits 0 and lists routes, pools and targets', async (t) => {
  const res = await runs.valid
  t.equal(res.code, 0)
  t.equal(res.stderr, '')
  const out = res.stdout
  t.match(out, 'config is valid')
  t.match(out, /\/payment -> payment/)
  t.match(out, /\/member \(GET, strip prefix\) -> member/)
  t.match(out, /payment \(least-connections\)/)
  t.match(out, /member \(hash on header:x-user\)/)
  t.match(out, /http:\/\/127\.0\.0\.1:3002 weight 2/)
  t.match(out, /http:\/\/127\.0\.0\.1:3009 weight 1 backup/)
  const at = (s: string): number => out.indexOf(s)
  t.ok(at('routes:') < at('/payment ->') && at('/payment ->') < at('pools:') && at('pools:') < at('http://127.0.0.1:3001'),
    'routes, then pools, then their targets')

  const equals = await runs.validEquals
  t.equal(equals.code, 0, '--config=FILE works too')
})

t.test('check: an invalid config exits 1 and lists every problem with its path', async (t) => {
  const res = await runs.invalid
  t.equal(res.code, 1)
  t.equal(res.stdout, '', 'nothing on stdout')
  const err = res.stderr
  t.notMatch(err, /\n\s+at /, 'no stack trace')
  for (const path of [
    'bogus: unknown field',
    'server.port',
    'pools.a.targets',
    'pools.a.balancer',
    'pools.b.targets[0]',
    'pools.b.targets[2].url',
    'pools.b.timeouts.connectMs',
    'routes[0].path',
    'routes[0].pool',
    'routes[1].methods[0]',
  ]) t.match(err, path, `reports ${path}`)
})

t.test('check: a config with a syntax error exits 1 without a stack trace', async (t) => {
  const res = await runs.broken
  t.equal(res.code, 1)
  t.match(res.stderr, 'broken.config.ts')
  t.notMatch(res.stderr, /\n\s+at /)
})

t.test('check: a missing file exits 1 without a stack trace', async (t) => {
  const res = await runs.missing
  t.equal(res.code, 1)
  t.match(res.stderr, 'does-not-exist.config.ts')
  t.notMatch(res.stderr, /\n\s+at /)
  t.equal(res.stdout, '')
})

t.test('an unknown argument exits 1 with the usage', async (t) => {
  const res = await runs.unknownArg
  t.equal(res.code, 1)
  t.match(res.stderr, /usage:/)
  t.notMatch(res.stderr, /\n\s+at /)
})

t.test('SWITCHYARD_CONFIG names the config file when --config is absent', async (t) => {
  const res = await runs.env
  t.equal(res.code, 0)
  t.match(res.stdout, `${VALID}: config is valid`)
  t.match(res.stdout, /\/payment -> payment/)

  const missing = await runs.envMissing
  t.equal(missing.code, 1, 'a missing file named by the environment fails too')
  t.match(missing.stderr, 'nope.config.ts')
})

// A flag given on the command line must win over the environment (a pod's SWITCHYARD_CONFIG is no reason to check
// another file than the one named), and a mistyped option or a stray word must stop the command with the usage
// rather than run it on a config the operator did not mean.
t.test('--config wins over SWITCHYARD_CONFIG; an unknown option or an extra argument exits 1 with the usage', async (t) => {
  const flag = await runs.flagOverEnv
  t.equal(flag.code, 0, '--config names the file even when SWITCHYARD_CONFIG is set')
  t.match(flag.stdout, `${VALID}: config is valid`)
  const short = await runs.short
  t.equal(short.code, 0, '-c is --config')
  t.match(short.stdout, `${VALID}: config is valid`)
  for (const [label, res] of [['unknown option', await runs.unknownOption], ['extra argument', await runs.extraArg]] as const) {
    t.equal(res.code, 1, label)
    t.match(res.stderr, /usage:/, label)
    t.notMatch(res.stderr, /\n\s+at /, label)
    t.equal(res.stdout, '', label)
  }
})

t.test('run: serves traffic, then exits 0 on SIGTERM', async (t) => {
  const u = await upstream(t, 'cli')
  const dir = t.testdir({
    'run.config.json': JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      shutdown: { delayMs: 0, timeoutMs: 2000 },
      admin: { host: '127.0.0.1', port: 0 },
      log: { level: 'info', destination: 'stdout' },
      pools: { cli: { targets: [u.url] } },
      routes: [{ path: '/', pool: 'cli' }],
    }),
  })
  const proc = spawn(NODE, [MAIN, '--config', join(dir, 'run.config.json')], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  let stderr = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const records: Array<Record<string, unknown>> = []
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>
      records.push(record)
      if (typeof record.msg === 'string' && record.msg.startsWith('switchyard listening on')) resolve(record.url as string)
    })
    void exited.then(({ code }) => reject(new Error(`exited with ${code} before listening: ${stderr}`)))
  })
  const url = await listening
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)

  const res = await httpRequest(`${url}/hello?x=1`, { headers: { 'x-request-id': 'cli-run-1' } })
  t.equal(res.status, 200)
  t.equal(res.echo().name, 'cli')
  t.equal(res.echo().url, '/hello?x=1')

  proc.kill('SIGTERM')
  const { code, signal } = await exited
  t.equal(signal, null, 'not killed by the signal')
  t.equal(code, 0, 'exits 0')
  t.notMatch(stderr, /\n\s+at /)
  t.ok(records.some((r) => r.msg === 'request' && r.requestId === 'cli-run-1'), 'the request was access-logged to stdout')
})
