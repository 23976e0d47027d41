// Signals that arrive while the gateway starts, here while a .mjs config awaits (a secret store, say).
import { spawn } from 'node:child_process'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
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

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** Starts the CLI on a config that reads `targetFile` and then waits until `gate` exists. */
function startGated (t: Tap, dir: string, targetFile: string, gate: string, nodeArgs: string[] = [], port = 0, delayMs = 0) {
  const configFile = join(dir, 'gw.mjs')
  // reads its target, says so on stderr, then waits for the test's gate (a secret store that answers late)
  writeFileSync(configFile, `import { existsSync, readFileSync } from 'node:fs'
const target = JSON.parse(readFileSync(${JSON.stringify(targetFile)}, 'utf8'))
process.stderr.write('config loading\\n')
while (!existsSync(${JSON.stringify(gate)})) await new Promise((resolve) => setTimeout(resolve, 20))
export default { server: { host: '127.0.0.1', port: ${port} }, admin: { host: '127.0.0.1', port: 0 },
  shutdown: { delayMs: ${delayMs}, timeoutMs: 1000 }, pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] }
`)
  const proc = spawn(NODE, [...nodeArgs, 'src/main.ts', '--config', configFile], { cwd: ROOT, env: cliEnv({ SWITCHYARD_SOURCES: '1' }), stdio: ['ignore', 'pipe', 'pipe'] })
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
  return { proc, exited, records, running, stderr: () => stderr }
}

/** An upstream, and a test folder with the config's target file and its gate (made at once when `open`). */
async function gatedSetup (t: Tap, open: boolean): Promise<{ dir: string; targetFile: string; gate: string }> {
  const a = await TestUpstream.start({ name: 'a' })
  t.teardown(() => a.close())
  const dir = t.testdir()
  const targetFile = join(dir, 'target.json')
  writeFileSync(targetFile, JSON.stringify(a.url))
  const gate = join(dir, 'go')
  if (open) writeFileSync(gate, '')
  return { dir, targetFile, gate }
}

// A SIGHUP (logrotate's postrotate, an operator's reload) does not end the process as its default action would:
// the gateway listens, then reloads once, reading the config again (it may have changed since it was read).
t.test('a SIGHUP while the config loads is kept: the gateway listens, then reloads once', async (t) => {
  const [a, b] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' })])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const dir = t.testdir()
  const targetFile = join(dir, 'target.json')
  const gate = join(dir, 'go')
  writeFileSync(targetFile, JSON.stringify(a.url))
  const { proc, exited, records, running, stderr } = startGated(t, dir, targetFile, gate)
  await waitFor(() => stderr().includes('config loading'), 30_000)
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

// SIGTERM (a pod deleted while it starts) ends the process at once, by a handler of the gateway's: in a container
// node is PID 1, and the kernel drops a signal PID 1 has no handler for. Without one the gateway went on to serve
// and was killed at the end of the grace period, undrained. Outside PID 1 it dies by the signal itself, as by default (systemd counts that a clean stop); PID 1 exits 143.
t.test('a SIGTERM while the config loads ends the process before it listens, by its own handler', async (t) => {
  const { dir, targetFile, gate } = await gatedSetup(t, false)
  const { proc, exited, records, stderr } = startGated(t, dir, targetFile, gate)
  await waitFor(() => stderr().includes('config loading'), 30_000)
  proc.kill('SIGTERM')
  t.same(await exited, { code: null, signal: 'SIGTERM' }, 'ended by the signal (PID 1 exits 143: the kernel would drop it)')
  t.match(stderr(), /SIGTERM while starting/)
  t.notOk(records.some((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on')), 'it never listened')
})

// A SIGTERM that comes while the gateway's modules load and it is built (no turn of the event loop, so the signal
// waits) reaches the graceful shutdown, which finds nothing listening and opens nothing: the gateway stops at once.
// It was dropped (the starting handler removed before it was heard: the gateway served on), and then, once heard,
// the listeners were opened anyway and held for shutdown.delayMs, taking a share of new connections beside another
// gateway on the port. The signal is sent here the moment serve() installs its stop listener (onStopSignal, by name:
// under the test runner its hooks install SIGTERM listeners of their own), as if it had come during the build.
t.test('a SIGTERM that comes during the build: nothing is opened, and the process ends', async (t) => {
  const { dir, targetFile, gate } = await gatedSetup(t, true)
  const preload = join(dir, 'signal-at-install.mjs')
  writeFileSync(preload, `const on = process.on
process.on = function (event, listener) {
  const result = on.call(this, event, listener)
  if (event === 'SIGTERM' && listener.name === 'onStopSignal') process.kill(process.pid, 'SIGTERM')
  return result
}
`)
  const { exited, records } = startGated(t, dir, targetFile, gate, ['--import', preload])
  t.same(await exited, { code: 0, signal: null }, 'ended, cleanly')
  t.ok(records.some((r) => r.msg === 'stopped while starting, before listening'), 'said so')
  t.notOk(records.some((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on')), 'it never listened')
})

/** A preload for the CLI: its `nth` listen() is slow (100 ms) and a SIGTERM comes as it begins. */
function slowListenWithSignal (dir: string, nth: number): string {
  const preload = join(dir, 'slow-listen.mjs')
  writeFileSync(preload, `import net from 'node:net'
const listen = net.Server.prototype.listen
let n = 0
net.Server.prototype.listen = function (...args) {
  if (++n !== ${nth}) return listen.apply(this, args)
  process.kill(process.pid, 'SIGTERM')
  setTimeout(() => listen.apply(this, args), 100)
  return this
}
`)
  return preload
}

// A SIGTERM while the public listener opens: the shutdown waits for it and drains, and the start goes no further.
// It went on to log "switchyard listening on" after "shutting down" (supervisors wait for that line), and to run
// a reload kept from a SIGHUP while starting, in a gateway already draining.
t.test('a SIGTERM while the listener opens: shut down, and never said to be listening', async (t) => {
  const { dir, targetFile, gate } = await gatedSetup(t, true)
  // a drain of 500 ms: time for the start to have gone on meanwhile
  const { exited, records } = startGated(t, dir, targetFile, gate, ['--import', slowListenWithSignal(dir, 2)], 0, 500)
  t.same(await exited, { code: 0, signal: null })
  const messages = records.map((r) => String(r.msg))
  t.ok(messages.includes('shutting down'), 'the graceful shutdown ran')
  t.notOk(messages.some((m) => m.startsWith('switchyard listening on')), 'no listening line')
})

// A start that fails (the port in use) with a stop signal pending says why and exits 1: the shutdown took the
// process down with exit 0 and the failure was never said.
t.test('a start that fails while a SIGTERM is pending says why and exits 1', async (t) => {
  const holder = createNetServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  const port = (holder.address() as AddressInfo).port
  const { dir, targetFile, gate } = await gatedSetup(t, true)
  const { exited, stderr } = startGated(t, dir, targetFile, gate, ['--import', slowListenWithSignal(dir, 2)], port)
  t.same(await exited, { code: 1, signal: null })
  t.match(stderr(), new RegExp(`server\\.port: ${port} is in use`))
})

// A second stop signal before the gateway listened: nothing to drain, so it stops as the first would have (exit 0),
// without the drain's "cutting the requests in flight" warning and exit 1 (a double Ctrl-C, systemd's stop sequence).
t.test('a second stop signal while the listeners open: stopped, exit 0, no drain warning', async (t) => {
  const { dir, targetFile, gate } = await gatedSetup(t, true)
  const preload = join(dir, 'two-signals.mjs')
  writeFileSync(preload, `import net from 'node:net'
const listen = net.Server.prototype.listen
let n = 0
net.Server.prototype.listen = function (...args) {
  if (++n !== 1) return listen.apply(this, args)
  process.kill(process.pid, 'SIGTERM')
  setTimeout(() => process.kill(process.pid, 'SIGINT'), 50)
  setTimeout(() => listen.apply(this, args), 150)
  return this
}
`)
  const { exited, records } = startGated(t, dir, targetFile, gate, ['--import', preload])
  t.same(await exited, { code: 0, signal: null })
  t.notOk(records.some((r) => r.level === 40), 'no drain warning')
  t.ok(records.some((r) => r.msg === 'stopped while starting, before listening'))
})

// Once the gateway is stopping, a SIGHUP (logrotate's) reopens the log and reloads nothing: a reload into a draining
// gateway sent the requests still coming in during the drain to the new config's targets.
t.test('a SIGHUP during the drain reloads nothing', async (t) => {
  const [a, b] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' })])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  a.delayMs = 1500
  const dir = t.testdir()
  const targetFile = join(dir, 'target.json')
  writeFileSync(targetFile, JSON.stringify(a.url))
  const gate = join(dir, 'go')
  writeFileSync(gate, '')
  const { proc, exited, records } = startGated(t, dir, targetFile, gate, [], 0, 1000)
  await waitFor(() => records.some((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on')), 30_000)
  const url = String(records.find((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on'))!.url)
  const held = httpRequest(`${url}/held`).catch(() => undefined)
  await waitFor(() => a.requests.length === 1)
  proc.kill('SIGTERM')
  await waitFor(() => records.some((r) => r.msg === 'shutting down'))
  writeFileSync(targetFile, JSON.stringify(b.url))
  proc.kill('SIGHUP')
  await held
  t.same(await exited, { code: 0, signal: null })
  t.notOk(records.some((r) => r.trigger === 'signal'), 'no reload by the signal')
  t.equal(b.requests.length, 0)
})

// A fatal error while starting, then a stop signal while the gateway closes: the process still exits 1, as the
// error alone does. Taken for a stop before listening, it exited 0, and a crash read as a clean stop to systemd,
// Kubernetes or a CI job.
t.test('a fatal error while starting, then a SIGTERM: exit 1', async (t) => {
  const { dir, targetFile, gate } = await gatedSetup(t, true)
  const preload = join(dir, 'crash.mjs')
  writeFileSync(preload, `import net from 'node:net'
import http from 'node:http'
const listen = net.Server.prototype.listen
let n = 0
net.Server.prototype.listen = function (...args) {
  if (++n !== 1) return listen.apply(this, args)
  setImmediate(() => { setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20); throw new Error('a bug while starting') })
  setTimeout(() => listen.apply(this, args), 400)
  return this
}
// closing takes 300 ms: the signal comes while the gateway closes after the error
const close = http.Server.prototype.close
http.Server.prototype.close = function (cb) { return close.call(this, (...rest) => setTimeout(() => cb?.(...rest), 300)) }
`)
  const { exited, records } = startGated(t, dir, targetFile, gate, ['--import', preload])
  t.same(await exited, { code: 1, signal: null })
  t.notOk(records.some((r) => r.level === 40), 'no drain warning: nothing was served to cut')
})
