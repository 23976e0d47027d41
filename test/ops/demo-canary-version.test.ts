// The demo's payment answers carry the release they come from (demo/services.ts): the README's canary lines say "alice
// always gets the same version (its "version")" and "forced onto payment-v2", so an answer forced onto the canary says
// v2 and every answer's version matches its instance (v2 only from payment-v2). A version fixed at v1 passed the demo's
// own test, which took either.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'
import { cliEnv } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

t.test('forced onto the canary: version v2; every answer names the version of its instance', async (t) => {
  const proc = spawn(NODE, [...NODE_FLAGS, 'demo/run.ts'], { cwd: ROOT, env: cliEnv({ PORT: '0', ADMIN_PORT: '0' }), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  let out = ''
  proc.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  proc.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const deadline = Date.now() + 30_000
  while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && proc.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20))
  const base = /Switchyard demo is running on (\S+)/.exec(out)?.[1]
  t.ok(base, 'it runs')
  const canary = await fetch(`${base}/payment/x`, { headers: { 'x-canary': 'always' } })
  t.equal(canary.status, 200)
  t.match(await canary.json(), { instance: 'payment-v2', version: 'v2' }, 'the canary says v2')
  for (let i = 0; i < 10; i++) {
    const answer = await (await fetch(`${base}/payment/x`, { headers: { 'x-user-id': `user-${i}` } })).json() as { instance: string; version: string }
    t.equal(answer.version, answer.instance.includes('-v2') ? 'v2' : 'v1', `${answer.instance}: its version`)
  }
  proc.kill('SIGINT')
  t.equal((await once(proc, 'exit') as [number | null])[0], 0)
})
