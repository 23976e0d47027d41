// A stop signal that comes while main.ts hands the stop signals from the starting handler to serve()'s (a SIGTERM
// during the gateway's build, caught but not yet dispatched) is not dropped: serve() installs its listener before it
// removes the starting one, so the signal's watcher stays open between the two (src/main.ts: "only now"). Removed
// first, the last listener gone closed the watcher with the signal in it, and the gateway went on to listen and serve.
// The SIGTERM is sent here just before the starting handler is removed.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv } from '../helpers/cli-process.ts'
import type { LogRecord } from '../helpers/gateway.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

t.test('a SIGTERM as the starting handler is removed: stopped before listening, exit 0', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'routes.config.json')
  writeFileSync(file, JSON.stringify({
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    pools: { p: { targets: ['http://127.0.0.1:9'] } },
    routes: [{ path: '/', pool: 'p' }],
  }))
  const preload = join(dir, 'signal-at-removal.mjs')
  writeFileSync(preload, `const off = process.off
let sent = false
process.off = function (event, listener) {
  if (event === 'SIGTERM' && !sent) { sent = true; process.kill(process.pid, 'SIGTERM') }
  return off.call(this, event, listener)
}
`)
  const proc = spawn(NODE, ['--import', preload, 'src/main.ts', '--config', file], { cwd: ROOT, env: cliEnv({ SWITCHYARD_SOURCES: '1' }), stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); await exited })
  const records: LogRecord[] = []
  createInterface({ input: proc.stdout }).on('line', (line) => { records.push(JSON.parse(line) as LogRecord) })
  const timeout = new Promise((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000).unref())
  t.same(await Promise.race([exited, timeout]), { code: 0, signal: null }, 'ended, cleanly')
  t.ok(records.some((r) => r.msg === 'stopped while starting, before listening'), 'said so')
  t.notOk(records.some((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on')), 'it never listened')
})
