// `check`'s summary and a refused start's problems reach a reader through a pipe whole, however long (review r41b):
// past the pipe's 64 KiB, Node queues a write in the process, and the CLI exited at once, cutting a 5,000-route
// summary mid-line (65,536 bytes of 69,000, the rest dropped) with exit code 0. Here the reader waits before reading,
// so the pipe is full when the CLI is done: it must wait for its output to be taken, then exit with its code.
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

/**
 * Runs the CLI with one of its outputs into a pipe whose reader waits a second before reading (a shell's
 * `| (sleep 1; cat)`, as `| grep` behind a slow consumer): the CLI is done writing long before it is read. Returns
 * what the reader got and the CLI's exit code.
 */
async function runSlowlyRead (t: { teardown (fn: () => unknown): void }, args: string[], output: 'stdout' | 'stderr'): Promise<{ code: number | null; text: string }> {
  const cli = [NODE, 'src/main.ts', ...args].map((a) => `'${a}'`).join(' ')
  const redirect = output === 'stdout' ? '' : '2>&1 >/dev/null'
  const proc = spawn('bash', ['-c', `${cli} ${redirect} | (sleep 1; cat); exit \${PIPESTATUS[0]}`], { cwd: ROOT, env: cliEnv({}), stdio: ['ignore', 'pipe', 'inherit'] })
  const giveUp = setTimeout(() => proc.kill('SIGKILL'), 30_000)
  t.teardown(() => { clearTimeout(giveUp); if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  let text = ''
  proc.stdout.on('data', (chunk: Buffer) => { text += chunk.toString() })
  const [code] = await once(proc, 'close') as [number | null]
  clearTimeout(giveUp)
  return { code, text }
}

const dir = t.testdir({})
const routes = Array.from({ length: ROUTES }, (_, i) => ({ path: `/route-number-${i}`, pool: 'p' }))

t.test("check's summary of 20,000 routes, read late through a pipe: whole, exit 0", async (t) => {
  const file = join(dir, 'big.json')
  writeConfig(file, { pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes } as GatewayConfig)
  const { code, text: stdout } = await runSlowlyRead(t, ['check', '--config', file], 'stdout')
  t.equal(code, 0)
  t.ok(stdout.length > 64 * 1024, `more than a pipe holds (${stdout.length} bytes)`)
  t.ok(stdout.endsWith('\n'), 'ends with a whole line')
  t.ok(stdout.includes(`/route-number-${ROUTES - 1}`), 'the last route is there')
})

t.test('a refused config with thousands of problems, read late through a pipe: every problem, exit 1', async (t) => {
  const file = join(dir, 'bad.json')
  writeConfig(file, { pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: routes.map((r) => ({ ...r, pool: 'ghost' })) } as GatewayConfig)
  const { code, text: stderr } = await runSlowlyRead(t, ['check', '--config', file], 'stderr')
  t.equal(code, 1)
  t.ok(stderr.length > 64 * 1024, `more than a pipe holds (${stderr.length} bytes)`)
  t.ok(stderr.includes(`routes[${ROUTES - 1}].pool`), 'the last problem is there')
  t.ok(stderr.endsWith('\n'))
})
