// SIGUSR2 reopens log.destination's file (logrotate's postrotate) and does nothing else: a config change staged in a
// module the config imports (read again only at a reload) is not applied by a log rotation, as it was when the
// rotation's signal was SIGHUP. And a file that cannot be reopened (here, a file where its directory was) is said on
// stderr, by either signal: the only other word of it went into the old file, which logrotate rotated away.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { cliEnv } from '../helpers/cli-process.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

type Line = Record<string, unknown>

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

const lines = (file: string): Line[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line) : []
const paths = (file: string): string[] => lines(file).filter((r) => r.msg === 'request').map((r) => r.path as string)
const isListening = (r: Line): boolean => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on')
const isReload = (r: Line): boolean => r.trigger !== undefined

/** The CLI with its log in `logPath`: its proxy URL once it listens, and its stderr so far. */
async function cliLoggingTo (t: Test, configFile: string, logPath: string) {
  const proc = spawn(NODE, ['src/main.ts', '--config', configFile], { cwd: ROOT, env: cliEnv({ SWITCHYARD_SOURCES: '1' }), stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  await waitFor(() => lines(logPath).some(isListening), 30_000).catch(() => { throw new Error(`the CLI did not start: ${stderr}`) })
  const url = lines(logPath).find(isListening)!.url as string
  return { proc, url, exited, stderr: () => stderr }
}

async function upstream (t: Test): Promise<TestUpstream> {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  return up
}

/** A request on a connection of its own (one kept alive would be served by a gateway that closed its listener): 0 unanswered. */
const get = (url: string): Promise<number> => httpRequest(url).then((res) => res.status, () => 0)

t.test('SIGUSR2 reopens the log file and does not reload the config', async (t) => {
  const dir = t.testdir()
  const logPath = join(dir, 'access.log')
  const up = await upstream(t)
  const routesFile = join(dir, 'routes.mjs')
  writeFileSync(routesFile, "export const routes = [{ path: '/', pool: 'p' }]\n")
  const configFile = join(dir, 'gw.mjs')
  writeFileSync(configFile, `import { routes } from './routes.mjs'
export default { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 },
  log: { level: 'info', destination: ${JSON.stringify(logPath)} }, shutdown: { delayMs: 0, timeoutMs: 1000 },
  pools: { p: { targets: [${JSON.stringify(up.url)}] } }, routes }
`)
  const cli = await cliLoggingTo(t, configFile, logPath)
  t.equal(await get(`${cli.url}/before`), 200)
  // tomorrow's change, staged in a module the watcher does not watch: it applies at the next reload
  writeFileSync(routesFile, "export const routes = [{ path: '/api', pool: 'p' }]\n")

  // logrotate, create mode: rename, create the new file, then the postrotate signal
  renameSync(logPath, `${logPath}.1`)
  writeFileSync(logPath, '')
  cli.proc.kill('SIGUSR2')
  // a request's line reaching the new file is the reopen done (lines are written in order, so the signal came first)
  let n = 0
  let status = 0
  await waitFor(async () => {
    status = await get(`${cli.url}/after/${n++}`)
    return status !== 200 || paths(logPath).length > 0
  }, 5000)
  t.equal(status, 200, 'served by the config in force')
  t.notOk([...lines(`${logPath}.1`), ...lines(logPath)].some((r) => r.msg === 'shutting down'), 'the gateway runs on')
  t.same(paths(`${logPath}.1`).slice(0, 1), ['/before'], 'the earlier request is in the rotated file')

  // SIGHUP reloads: its reload line is the first one, in either file
  cli.proc.kill('SIGHUP')
  await waitFor(() => lines(logPath).some(isReload), 5000)
  t.same([...lines(`${logPath}.1`), ...lines(logPath)].filter(isReload).map((r) => r.trigger), ['signal'], 'one reload: the SIGHUP\'s, none at the SIGUSR2')
  t.equal(await get(`${cli.url}/`), 404, 'the staged change applies at the reload')
  cli.proc.kill('SIGTERM')
  t.equal(await cli.exited, 0)
})

for (const signal of ['SIGUSR2', 'SIGHUP'] as const) {
  t.test(`a log file that cannot be reopened at ${signal} is said on stderr; lines go on to the old one`, async (t) => {
    const dir = t.testdir()
    const logDir = join(dir, 'logs')
    const logPath = join(logDir, 'access.log')
    const up = await upstream(t)
    const configFile = join(dir, 'gw.json')
    writeFileSync(configFile, JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      log: { level: 'info', destination: logPath },
      shutdown: { delayMs: 0, timeoutMs: 1000 },
      pools: { p: { targets: [up.url] } },
      routes: [{ path: '/', pool: 'p' }],
    }))
    const cli = await cliLoggingTo(t, configFile, logPath)
    t.equal(await get(`${cli.url}/before`), 200)
    // the path cannot be opened, whoever the process runs as (root ignores modes): a file where its directory was
    renameSync(logDir, `${logDir}.1`)
    writeFileSync(logDir, '')
    cli.proc.kill(signal)
    await waitFor(() => /ENOTDIR/.test(cli.stderr()), 5000).catch(() => {})
    t.match(cli.stderr(), /ENOTDIR/, 'the failure and its code are on stderr')
    t.match(cli.stderr(), logPath, 'naming the file')
    const old = join(`${logDir}.1`, 'access.log')
    t.equal(await get(`${cli.url}/after`), 200)
    await waitFor(() => paths(old).includes('/after'), 5000).catch(() => {})
    t.same(paths(old), ['/before', '/after'], 'the old file stays in use')
    t.notOk(lines(old).some((r) => r.msg === 'shutting down'), 'the gateway runs on')
    cli.proc.kill('SIGTERM')
    t.equal(await cli.exited, 0)
  })
}
