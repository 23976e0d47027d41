// log.destination as a file under logrotate (its default: rename the file, create a new one, signal the process):
// SIGHUP opens the file again by its path, so later lines go to the new file, and a rotated file, once deleted, is
// let go (its disk space given back). Before, the gateway kept writing into the renamed file for good. What was
// buffered at the signal goes to the old file: no line is lost or written twice across the swap.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { LogFile } from '../../src/log-file.ts'
import { cliEnv, writeConfig } from '../helpers/cli-process.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

t.test('reopen(): buffered lines go to the old file, later ones to the new file at the same path', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'logs', 'a.log')
  const log = new LogFile(path, { batchBytes: 1024, flushMs: 0 })
  t.teardown(() => log.end())
  log.write('1\n')
  log.write('2\n')
  renameSync(path, `${path}.1`)
  writeFileSync(path, '')
  log.write('3\n')
  t.equal(readFileSync(`${path}.1`, 'utf8'), '', 'three lines wait in the buffer')
  log.reopen()
  t.equal(readFileSync(`${path}.1`, 'utf8'), '1\n2\n3\n', 'the buffered lines went to the old file')
  log.write('4\n')
  log.flush()
  t.equal(readFileSync(path, 'utf8'), '4\n', 'the next line to the new one')

  // logrotate without create (or a removed directory): the file is made again, as at start
  rmSync(join(dir, 'logs'), { recursive: true })
  log.write('5\n')
  log.reopen()
  log.write('6\n')
  log.flush()
  t.equal(readFileSync(path, 'utf8'), '6\n')
})

t.test('reopen() of a descriptor it was given (stdout, stderr) changes nothing', async (t) => {
  const log = new LogFile(1, { flushMs: 0 })
  t.teardown(() => log.end())
  t.doesNotThrow(() => log.reopen())
})

t.test('the CLI reopens its log file on SIGHUP: every request line once, the later ones in the new file', async (t) => {
  const dir = t.testdir()
  const logPath = join(dir, 'access.log')
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const configFile = join(dir, 'routes.config.json')
  writeConfig(configFile, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info', destination: logPath },
    shutdown: { delayMs: 0, timeoutMs: 1000 },
    pools: { p: { targets: [up.url] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const proc = spawn(NODE, ['src/main.ts', '--config', configFile], { cwd: ROOT, env: cliEnv({ SWITCHYARD_SOURCES: '1' }), stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })

  const lines = (file: string): Array<Record<string, unknown>> =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) : []
  const paths = (file: string): string[] => lines(file).filter((r) => r.msg === 'request').map((r) => r.path as string)
  await waitFor(() => lines(logPath).some((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on')), 30_000)
    .catch(() => { throw new Error(`the CLI did not start: ${stderr}`) })
  const url = lines(logPath).find((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on'))!.url as string

  const send = async (prefix: string): Promise<void> => {
    for (let i = 0; i < 5; i++) t.equal((await fetch(`${url}/${prefix}/${i}`)).status, 200)
  }
  await send('before')
  // logrotate, create mode: rename, create the new file, then the postrotate signal
  renameSync(logPath, `${logPath}.1`)
  writeFileSync(logPath, '')
  proc.kill('SIGHUP')
  await waitFor(() => lines(logPath).some((r) => r.trigger === 'signal'), 5000).catch(() => {})
  t.ok(lines(logPath).some((r) => r.trigger === 'signal'), "the reload's line is in the new file")
  await send('after')
  const after = Array.from({ length: 5 }, (_, i) => `/after/${i}`)
  await waitFor(() => paths(logPath).length >= 5, 5000).catch(() => {})
  t.same(paths(logPath), after, 'the requests after the signal are logged in the new file')

  proc.kill('SIGTERM')
  t.equal(await exited, 0)
  const before = Array.from({ length: 5 }, (_, i) => `/before/${i}`)
  t.same(paths(`${logPath}.1`), before, 'the rotated file has the earlier requests, once each')
  t.same(paths(logPath), after, 'and the new file the later ones, once each')
})
