// No access-log line is lost when the gateway exits: the log file's batch is written out on the way out.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { httpRequest } from './http.ts'
import { upstream } from './setup.ts'

const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url))
const REQUESTS = 300

t.test('every request answered before SIGTERM has its line in the log file after exit', async (t) => {
  const u = await upstream(t, 'u')
  const file = join(t.testdir(), 'logs', 'access.log')
  const config = { log: { level: 'info', destination: file }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const proc = spawn(process.execPath, [CHILD, JSON.stringify(config)], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout }).once('line', resolve))
  const url = (JSON.parse(line) as { url: string }).url

  // the last lines are logged moments before SIGTERM, inside a batch not yet written
  for (let i = 0; i < REQUESTS; i += 30) {
    await Promise.all(Array.from({ length: 30 }, (_, j) => httpRequest(`${url}/n`, { headers: { 'x-request-id': `exit-${i + j}` } })))
  }
  proc.kill('SIGTERM')
  t.equal(await exited, 0)
  const ids = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { msg: string; requestId?: string })
    .filter((l) => l.msg === 'request').map((l) => l.requestId)
  t.equal(ids.length, REQUESTS, 'one line per request')
  t.equal(new Set(ids).size, REQUESTS, 'each request once')
})
