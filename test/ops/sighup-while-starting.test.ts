// A SIGHUP (logrotate's postrotate, an operator's reload) that arrives while the gateway starts, here while a .mjs
// config awaits (a secret store, say), does not end the process as SIGHUP's default action would: the gateway
// listens, then reloads once, reading the config again (it may have changed since it was read).
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv } from '../helpers/cli-process.ts'
import { waitFor, type LogRecord } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

t.test('a SIGHUP while the config loads is kept: the gateway listens, then reloads once', async (t) => {
  const [a, b] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' })])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const dir = t.testdir()
  const targetFile = join(dir, 'target.json')
  const gate = join(dir, 'go')
  writeFileSync(targetFile, JSON.stringify(a.url))
  const configFile = join(dir, 'gw.mjs')
  // reads its target, says so on stderr, then waits for the test's gate (a secret store that answers late)
  writeFileSync(configFile, `import { existsSync, readFileSync } from 'node:fs'
const target = JSON.parse(readFileSync(${JSON.stringify(targetFile)}, 'utf8'))
process.stderr.write('config loading\\n')
while (!existsSync(${JSON.stringify(gate)})) await new Promise((resolve) => setTimeout(resolve, 20))
export default { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 },
  shutdown: { delayMs: 0, timeoutMs: 1000 }, pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] }
`)
  const proc = spawn(NODE, ['src/main.ts', '--config', configFile], { cwd: ROOT, env: cliEnv({ SWITCHYARD_SOURCES: '1' }), stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const records: LogRecord[] = []
  createInterface({ input: proc.stdout! }).on('line', (line) => { records.push(JSON.parse(line) as LogRecord) })
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null

  await waitFor(() => stderr.includes('config loading'), 30_000)
  // the change the reload must pick up, made after the start read the config
  writeFileSync(targetFile, JSON.stringify(b.url))
  proc.kill('SIGHUP')
  // the rest of the start (the gateway's modules, building, listening) takes far longer than the signal's handling
  writeFileSync(gate, '')
  await waitFor(() => !running() || records.some((r) => r.trigger === 'signal'), 30_000)
  t.same({ signal: proc.signalCode, code: proc.exitCode }, { signal: null, code: null }, 'the SIGHUP did not end the process')
  const listening = records.findIndex((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on'))
  t.ok(listening >= 0, 'it listens')
  t.same(records.filter((r) => r.trigger !== undefined).map((r) => r.trigger), ['signal'], 'one reload, by the signal')
  t.ok(records.findIndex((r) => r.trigger === 'signal') > listening, 'after the listening line')
  if (listening < 0) return
  const res = await httpRequest(`${records[listening]!.url as string}/x`)
  t.equal(res.status, 200)
  t.equal(res.echo().name, 'b', 'the reload read the config again')
  proc.kill('SIGTERM')
  t.same(await exited, { code: 0, signal: null })
})
