// `check` warns of an open admin listener for the two admin hosts it cannot judge by a lookup's answer
// (src/lifecycle/start-warnings.ts addressOf): '' (every address, Node's default; looked up, it is "address null" and
// a deprecation warning, and the check crashed judging it) and a name that does not resolve (taken as loopback, it was
// not warned of; the start then fails to bind it anyway, but check's verdict must not read as "admin is safe").
import { join } from 'node:path'
import t from 'tap'
import { runCliOnce, writeConfig, type CliRun } from '../helpers/cli-process.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { START_WARNINGS } from '../../src/lifecycle/start-warnings.ts'

const dir = t.testdir({})
let files = 0

async function check (t: { teardown (fn: () => unknown): void }, host: string): Promise<CliRun> {
  const file = join(dir, `c${++files}.json`)
  writeConfig(file, { admin: { host }, pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'p' }] } satisfies GatewayConfig)
  return runCliOnce(t, ['check', '--config', file])
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
