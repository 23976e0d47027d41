// SWITCHYARD_ADMIN_TOKEN and SWITCHYARD_SECRET are read without surrounding whitespace, by `check` and by the start
// alike. A Kubernetes Secret made with `kubectl create secret --from-file` of `openssl rand -hex 32 > f` ends in a
// newline: `check` passed it, and then every admin call was 401 (the header's token can carry no newline) and the
// cookie key was not the one the other replicas, given the value without it, sign with. Held to the minimum length
// as trimmed, so `check` passes exactly what the start uses (a value of whitespace only is refused).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ReadAfterWrite } from '../../src/release/read-after-write.ts'
import { cliEnv, startCli, writeConfig } from '../helpers/cli-process.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const TOKEN = 'f3c1d2e4a5b6978800112233445566778899aabbccddeeff0011223344556677'
const SECRET = '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9'
/** One character short of both minimums (16) once the newline is gone. */
const SHORT = '0123456789abcde'

async function check (t: { teardown (fn: () => unknown): void }, file: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(NODE, ['src/main.ts', 'check', '--config', file], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  let stderr = ''
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const [code] = await once(proc, 'close') as [number | null]
  return { code, stderr }
}

const dir = t.testdir({})
const file = join(dir, 'routes.config.json')

t.before(async () => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const replica = await TestUpstream.start({ name: 'replica' })
  t.teardown(async () => { await primary.close(); await replica.close() })
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 1000 },
    pools: { primary: { targets: [primary.url] }, replica: { targets: [replica.url] } },
    routes: [{ path: '/orders', pool: 'primary', reads: { pool: 'replica' } }],
  })
})

t.test('check: the value around a trailing newline is what is held to the rules', async (t) => {
  t.equal((await check(t, file, { SWITCHYARD_ADMIN_TOKEN: `${TOKEN}\n`, SWITCHYARD_SECRET: `${SECRET}\n` })).code, 0, 'a long enough value with a newline passes')
  for (const name of ['SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_SECRET']) {
    for (const value of [`${SHORT}\n`, ` ${SHORT}`, '                \n']) {
      const run = await check(t, file, { [name]: value })
      t.equal(run.code, 1, `${name}=${JSON.stringify(value)} is refused`)
      t.ok(run.stderr.startsWith(`switchyard: ${name}: `), 'naming the variable')
    }
  }
})

t.test('check: a variable set to the empty string counts as unset, as at the start (the file\'s value, or none, is used)', async (t) => {
  // (a Deployment's `env: [{ name: SWITCHYARD_ADMIN_TOKEN, value: "" }]` or an empty key of an optional Secret)
  for (const name of ['SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_SECRET']) {
    const run = await check(t, file, { [name]: '' })
    t.equal(run.code, 0, `${name}="" passes: ${run.stderr}`)
  }
})

t.test('start: the token with a trailing newline opens the admin calls; the cookie key is the value without it', async (t) => {
  const cli = await startCli(t, file, { env: { SWITCHYARD_ADMIN_TOKEN: `${TOKEN}\n`, SWITCHYARD_SECRET: `${SECRET}\n` } })
  const status = await fetch(`${cli.adminUrl}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
  await status.arrayBuffer()
  t.equal(status.status, 200, 'GET /status with the token')
  const reload = await fetch(`${cli.adminUrl}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
  await reload.arrayBuffer()
  t.equal(reload.status, 200, 'POST /reload with the token')
  const unauthorised = await fetch(`${cli.adminUrl}/status`)
  await unauthorised.arrayBuffer()
  t.equal(unauthorised.status, 401, 'and without it, still refused')

  // a write sets the read-your-writes cookie: another replica given the value without the newline accepts it
  const write = await fetch(`${cli.url}/orders`, { method: 'POST', body: '{}' })
  await write.arrayBuffer()
  t.equal(write.status, 200)
  const cookie = write.headers.getSetCookie()[0]?.split(';')[0]
  t.ok(cookie, 'a Set-Cookie')
  const replica = new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 3000, routePath: '/orders' })
  t.ok(replica.pinnedToPrimary(cookie, undefined), 'signed with the secret without its newline')
  cli.kill('SIGTERM')
  t.strictSame(await cli.exited, { code: 0, signal: null })
})
