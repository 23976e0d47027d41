// The README's handover (a second process on the same config, server.reusePort: true, then SIGTERM to the old one)
// with the admin listener on a fixed port, as every real config has it (9901, the ConfigMap's). The new process
// binds the admin port beside the old one's (reusePort follows server.reusePort) and takes over with no failed
// request. A start that cannot bind its admin port (held by another program) fails before it binds the public
// port: bound first, the public listener beside a running gateway's was handed a share of the new connections at
// once, and closing it on the admin failure reset them (ECONNRESET).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { cliEnv, startCli, writeConfig, type CliProcess } from '../helpers/cli-process.ts'
import { waitFor } from '../helpers/gateway.ts'
import { failures, Load, tally } from '../helpers/load.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const MIGRATE_REQ = '/proc/sys/net/ipv4/tcp_migrate_req'
// start-up is seconds of CPU, far more on a loaded machine (see handover.test.ts)
const START_TIMEOUT_MS = 60_000
t.setTimeout(240_000)

/** Access-log lines a CLI has written so far. */
const served = (cli: CliProcess): number => cli.records.filter((r) => r.msg === 'request').length


/** Another program on a port: a plain listener, without SO_REUSEPORT, so no gateway can bind beside it. */
async function holdPort (t: Tap, port = 0): Promise<number> {
  const server: Server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

/** A start that is expected to fail: its exit code and the field its one stderr line names. */
async function failedStart (t: Tap, file: string): Promise<{ code: number | null; field: string | undefined }> {
  const proc = spawn(NODE, ['src/main.ts', '--config', file], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  const giveUp = setTimeout(() => proc.kill('SIGKILL'), START_TIMEOUT_MS)
  let stderr = ''
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(proc, 'close') as [number | null]
  clearTimeout(giveUp)
  return { code, field: /^switchyard: ([\w.]+): /.exec(stderr)?.[1] }
}

/**
 * The first process binds port 0 and the ones after it the ports it got: a port found free beforehand (bound and
 * released) can be taken by anything else on the machine before the CLI binds it, seconds later on a loaded host.
 */
function config (upstream: TestUpstream, port: number, adminPort: number): GatewayConfig {
  return {
    server: { host: '127.0.0.1', port, reusePort: true },
    admin: { host: '127.0.0.1', port: adminPort },
    shutdown: { delayMs: 1000, timeoutMs: 10_000 },
    pools: { u: { targets: [upstream.url] } },
    routes: [{ path: '/', pool: 'u' }],
  }
}

async function upstream (t: Tap): Promise<TestUpstream> {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  return u
}

/**
 * Connections still in the old listener's accept queue when it closes are reset by the kernel without
 * tcp_migrate_req; as root it is turned on for the test (as handover.test.ts does) and restored after.
 */
function migrateRequests (t: Tap): void {
  let found: string | undefined
  try {
    found = readFileSync(MIGRATE_REQ, 'utf8').trim()
  } catch {
    return
  }
  if (found === '1' || process.getuid?.() !== 0) return
  try {
    writeFileSync(MIGRATE_REQ, '1')
    t.teardown(() => writeFileSync(MIGRATE_REQ, found))
  } catch (err) {
    t.comment(`could not set ${MIGRATE_REQ}: ${(err as Error).message}`)
  }
}

t.test('a handover with a fixed admin port: the new process binds beside the old one, no request fails', async (t) => {
  migrateRequests(t)
  const u = await upstream(t)
  const dir = t.testdir()
  const first = join(dir, 'first.json')
  writeConfig(first, config(u, 0, 0))
  const old = await startCli(t, first, { startTimeoutMs: START_TIMEOUT_MS })
  // the same config, with the ports the running process holds (fixed, as in a real one)
  const [port, adminPort] = [Number(new URL(old.url).port), Number(new URL(old.adminUrl).port)]
  const file = join(dir, 'routes.config.json')
  writeConfig(file, config(u, port, adminPort))

  const load = Load.start({ url: old.url, concurrency: 4, durationMs: 120_000, pauseMs: 10 })
  t.teardown(() => load.stop())
  await waitFor(() => served(old) >= 4, 10_000) // the load is being served
  const fresh = await startCli(t, file, { startTimeoutMs: START_TIMEOUT_MS })
  t.equal(fresh.adminUrl, `http://127.0.0.1:${adminPort}`, 'the new process listens on the same admin port')
  old.kill('SIGTERM')
  const oldExit = await old.exited
  // load on the new process alone before it stops
  const servedAtExit = served(fresh)
  await waitFor(() => served(fresh) >= servedAtExit + 4, 10_000).catch(() => {}) // judged below
  const records = await load.stop()

  const failed = failures(records)
  t.comment(`${records.length} requests: ${JSON.stringify(tally(records))}`)
  for (const r of failed.slice(0, 10)) t.comment(`failed: ${r.id} ${r.status ?? ''} ${r.error ?? ''} ${r.errorCode ?? ''}`)
  t.strictSame(oldExit, { code: 0, signal: null }, 'the old process exited 0')
  t.equal(failed.length, 0, 'no failed request')
  t.ok(fresh.records.some((r) => r.msg === 'request'), 'the new process served traffic')
  const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`)
  await ready.arrayBuffer()
  t.equal(ready.status, 200, 'the admin port answers from the new process once the old one is gone')
  fresh.kill('SIGTERM')
  t.strictSame(await fresh.exited, { code: 0, signal: null })
})

t.test('a start whose admin port another program holds takes no public connection', async (t) => {
  const u = await upstream(t)
  const dir = t.testdir()
  const running = join(dir, 'running.json')
  writeConfig(running, config(u, 0, 0))
  const old = await startCli(t, running, { startTimeoutMs: START_TIMEOUT_MS })
  const port = Number(new URL(old.url).port)

  const taken = await holdPort(t)
  const clashing = join(dir, 'clashing.json')
  writeConfig(clashing, config(u, port, taken))
  // a new connection per request: every one the new process could take in its start would be a failure
  const load = Load.start({ url: old.url, concurrency: 8, durationMs: 120_000, headers: () => ({ connection: 'close' }) })
  t.teardown(() => load.stop())
  await waitFor(() => served(old) >= 8, 10_000) // the load is being served
  t.strictSame(await failedStart(t, clashing), { code: 1, field: 'admin.port' }, 'the new process exits 1 on its admin port')
  // a round of new connections from every client after the failed start's exit, as before it
  const servedAtExit = served(old)
  await waitFor(() => served(old) >= servedAtExit + 8, 10_000).catch(() => {}) // judged below
  const records = await load.stop()
  // the access log goes out in batches up to 100 ms apart, through a pipe from a process that may be starved
  await waitFor(() => served(old) >= records.length, 5000).catch(() => {}) // judged below

  const failed = failures(records)
  t.comment(`${records.length} requests: ${JSON.stringify(tally(records))}`)
  for (const r of failed.slice(0, 10)) t.comment(`failed: ${r.id} ${r.status ?? ''} ${r.error ?? ''} ${r.errorCode ?? ''}`)
  t.equal(failed.length, 0, 'no failed request: every connection went to the running gateway')
  t.ok(records.length > 0, 'load ran')
  t.equal(old.records.filter((r) => r.msg === 'request').length, records.length, 'the running gateway logged every request')
})

t.test('with both ports held, the start fails on the admin port: it is bound before the public one', async (t) => {
  const u = await upstream(t)
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, config(u, await holdPort(t), await holdPort(t)))
  t.strictSame(await failedStart(t, file), { code: 1, field: 'admin.port' })
})
