// `check` says on stderr what the start would warn of (review r41b: an admin listener off loopback with no token
// passed `check` silently, and the start then logged its warning), as `nginx -t` prints its warnings: the verdict
// stays valid, exit 0, stdout the same summary. A config with nothing to warn of prints no warning.
import { join } from 'node:path'
import t from 'tap'
import { runCliOnce, writeConfig, type CliRun } from '../helpers/cli-process.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { START_WARNINGS } from '../../src/lifecycle/start-warnings.ts'

async function check (t: { teardown (fn: () => unknown): void }, config: GatewayConfig, env: Record<string, string> = {}): Promise<CliRun> {
  const file = join(dir, `c${++files}.json`)
  writeConfig(file, config)
  return runCliOnce(t, ['check', '--config', file], env)
}

const dir = t.testdir({})
let files = 0
const base: GatewayConfig = {
  pools: { primary: { targets: ['http://127.0.0.1:1'] }, replicas: { targets: ['http://127.0.0.1:2'] } },
  routes: [{ path: '/', pool: 'primary' }],
}

t.test('an admin listener off loopback with no token: warned, still valid', async (t) => {
  const res = await check(t, { ...base, admin: { host: '0.0.0.0' } })
  t.equal(res.code, 0)
  t.match(res.stdout, /config is valid/)
  t.ok(res.stderr.includes(`warning: ${START_WARNINGS.openAdmin}`))
  const withToken = await check(t, { ...base, admin: { host: '0.0.0.0' } }, { SWITCHYARD_ADMIN_TOKEN: 'a-token-long-enough-to-pass-1234' })
  t.equal(withToken.code, 0)
  t.equal(withToken.stderr, '', 'a token given: nothing to warn of')
})

t.test('a read/write split with no secret: warned; with one, not', async (t) => {
  const split: GatewayConfig = { ...base, routes: [{ path: '/', pool: 'primary', reads: { pool: 'replicas' } }] }
  const res = await check(t, split)
  t.equal(res.code, 0)
  t.ok(res.stderr.includes(`warning: ${START_WARNINGS.noSecret}`))
  t.notOk(res.stderr.includes(START_WARNINGS.openAdmin), 'the default admin host is loopback')
  const withSecret = await check(t, split, { SWITCHYARD_SECRET: 'a-secret-long-enough-to-sign-with-1234567' })
  t.equal(withSecret.stderr, '')
})
