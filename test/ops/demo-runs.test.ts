// `npm run demo`, the README's first command, as a new user runs it: it prints where it runs and the dashboard,
// answers the curl lines it prints, and Ctrl-C (SIGINT) stops it with exit 0, its temporary config gone. An admin
// port already taken makes it take another and say so (review r41h: every admin curl line read "(admin port busy)").
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'
import { cliEnv } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function startDemo (t: Tap, env: Record<string, string>) {
  const proc = spawn(NODE, [...NODE_FLAGS, 'demo/run.ts'], { cwd: ROOT, env: cliEnv({ PORT: '0', ...env }), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  let out = ''
  proc.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  proc.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const deadline = Date.now() + 30_000
  while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && proc.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20))
  const banner = /Switchyard demo is running on (\S+) \(admin (\S+?)[ )]/.exec(out)
  return { proc, out: () => out, base: banner?.[1], admin: banner?.[2], configFile: /the config is (\S+)/.exec(out)?.[1] }
}

t.test('the demo answers what it prints and stops on SIGINT with exit 0', async (t) => {
  const demo = await startDemo(t, { ADMIN_PORT: '0' })
  t.ok(demo.base !== undefined && demo.admin !== undefined, 'it says where it runs')
  t.match(demo.out(), new RegExp(`Dashboard: open ${demo.admin}/`), 'and where the dashboard is')
  const payment = await fetch(`${demo.base}/payment/charge`)
  t.equal(payment.status, 200)
  t.match(await payment.json(), { version: /^v[12]$/ }, 'an answer naming its version')
  // the README's canary lines: forced onto the canary says v2, and every answer's version is its instance's (a
  // version fixed at v1 passed the line above)
  const canary = await fetch(`${demo.base}/payment/x`, { headers: { 'x-canary': 'always' } })
  t.equal(canary.status, 200)
  t.match(await canary.json(), { instance: 'payment-v2', version: 'v2' }, 'the canary says v2')
  for (let i = 0; i < 10; i++) {
    const answer = await (await fetch(`${demo.base}/payment/x`, { headers: { 'x-user-id': `user-${i}` } })).json() as { instance: string; version: string }
    t.equal(answer.version, answer.instance.includes('-v2') ? 'v2' : 'v1', `${answer.instance}: its version`)
  }
  t.equal((await fetch(`${demo.base}/nowhere`)).status, 404)
  t.equal((await fetch(`${demo.admin}/status`)).status, 200)
  t.ok(demo.configFile !== undefined && existsSync(demo.configFile), 'its config file')
  demo.proc.kill('SIGINT')
  const [code] = await once(demo.proc, 'exit') as [number | null]
  t.equal(code, 0)
  t.notOk(existsSync(demo.configFile!), 'its temporary config removed')
})

t.test('an admin port already taken: another, said in the banner, and the admin lines name it', async (t) => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const port = (taken.address() as { port: number }).port
  const demo = await startDemo(t, { ADMIN_PORT: String(port) })
  t.match(demo.out(), new RegExp(`port ${port} was busy`))
  t.ok(demo.admin !== undefined && !demo.admin.endsWith(`:${port}`), 'another port')
  t.equal((await fetch(`${demo.admin}/status`)).status, 200)
  t.notMatch(demo.out(), /\(admin port busy\)/)
  demo.proc.kill('SIGINT')
  t.equal((await once(demo.proc, 'exit') as [number | null])[0], 0)
})
