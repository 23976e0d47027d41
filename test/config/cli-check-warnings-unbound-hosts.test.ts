// `check` warns of an open admin listener for the two admin hosts it cannot judge by a lookup's answer
// (src/lifecycle/start-warnings.ts addressOf): '' (every address, Node's default; looked up, it is "address null" and
// a deprecation warning, and the check crashed judging it) and a name that does not resolve (taken as loopback, it was
// not warned of; the start then fails to bind it anyway, but check's verdict must not read as "admin is safe").
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv, writeConfig } from '../helpers/cli-process.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { START_WARNINGS } from '../../src/lifecycle/start-warnings.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

const dir = t.testdir({})
let files = 0

async function check (t: { teardown (fn: () => unknown): void }, host: string): Promise<{ code: number | null; stderr: string }> {
  const file = join(dir, `c${++files}.json`)
  writeConfig(file, { admin: { host }, pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'p' }] } satisfies GatewayConfig)
  const proc = spawn(NODE, ['src/main.ts', 'check', '--config', file], { cwd: ROOT, env: cliEnv({}), stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  let stderr = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = await once(proc, 'close') as [number | null]
  return { code, stderr }
}

t.test("admin.host '' (every address) with no token: valid, warned, nothing else said", async (t) => {
  const res = await check(t, '')
  t.equal(res.code, 0)
  t.equal(res.stderr, `switchyard: warning: ${START_WARNINGS.openAdmin}\n`)
})

t.test('an admin.host that does not resolve, with no token: warned', async (t) => {
  // .invalid never resolves (RFC 6761 §6.4)
  const res = await check(t, 'no-such-host.invalid')
  t.equal(res.code, 0)
  t.equal(res.stderr, `switchyard: warning: ${START_WARNINGS.openAdmin}\n`)
})
