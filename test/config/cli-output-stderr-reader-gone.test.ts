// `check`'s summary still reaches a slow reader whole when stderr's reader is gone (review r41f): the CLI waits for
// its output to be taken before it exits (src/main.ts exitWhenWritten), and a warning written to a stderr nobody
// reads fails with EPIPE while stdout's summary is still queued for the slow reader. That stream error must end
// nothing: without a listener for it, it crashed the process (exit 1) with the summary cut at the pipe's 64 KiB.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv, writeConfig } from '../helpers/cli-process.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
/** Some 500 KB of summary: more than the pipe (64 KiB) and this side's read buffer together. */
const ROUTES = 20_000

t.test("a warning to a stderr nobody reads: check's summary, read late, is whole; exit 0", async (t) => {
  const file = join(t.testdir({}), 'big-warned.json')
  const routes = Array.from({ length: ROUTES }, (_, i) => ({ path: `/route-number-${i}`, pool: 'p' }))
  // the admin listener off loopback with no token: check writes a warning to stderr
  writeConfig(file, { admin: { host: '0.0.0.0' }, pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes } as GatewayConfig)
  const cli = [NODE, 'src/main.ts', 'check', '--config', file].map((a) => `'${a}'`).join(' ')
  const proc = spawn('bash', ['-c', `${cli} | (sleep 1; cat); exit \${PIPESTATUS[0]}`], { cwd: ROOT, env: cliEnv({}), stdio: ['ignore', 'pipe', 'pipe'] })
  // stderr's reader goes away before the CLI has started: its first write there fails with EPIPE
  proc.stderr.destroy()
  const giveUp = setTimeout(() => proc.kill('SIGKILL'), 30_000)
  t.teardown(() => { clearTimeout(giveUp); if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  let stdout = ''
  proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  const [code] = await once(proc, 'close') as [number | null]
  t.equal(code, 0)
  t.ok(stdout.length > 64 * 1024, `more than a pipe holds (${stdout.length} bytes)`)
  t.ok(stdout.endsWith('\n'), 'ends with a whole line')
  t.ok(stdout.includes(`/route-number-${ROUTES - 1}`), 'the last route is there')
})
