// `check` judges the admin host as the start does for every spelling of loopback it knows (src/admin/auth.ts
// isLoopback): an address off loopback (IPv6 wildcard, a private address) with no token is warned of; any 127/8
// address, ::1 and localhost are not (review r41f: only 0.0.0.0 and the default 127.0.0.1 were tested, so a warning
// judged by `host === '0.0.0.0'` passed), shorthands such as 127.1 too, looked up as listen() does (review r41f: they
// were warned of, though the start, judging the address it bound, was not).
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

t.test('off loopback with no token: warned', async (t) => {
  for (const host of ['::', '10.1.2.3']) {
    const res = await check(t, host)
    t.equal(res.code, 0, `${host}: still valid`)
    t.ok(res.stderr.includes(START_WARNINGS.openAdmin), `${host}: warned`)
  }
})

t.test('on loopback with no token: nothing to warn of', async (t) => {
  // 127.1 and 2130706433 are 127.0.0.1 as listen() binds them (looked up, as a name would be)
  for (const host of ['::1', 'localhost', '127.0.0.2', '127.1', '2130706433']) {
    const res = await check(t, host)
    t.equal(res.code, 0, `${host}: valid`)
    t.equal(res.stderr, '', `${host}: no warning`)
  }
})

// The two admin hosts a lookup's answer cannot judge (src/lifecycle/start-warnings.ts addressOf): '' (every address,
// Node's default; looked up, it is "address null" and a deprecation warning, and the check crashed judging it) and a
// name that does not resolve (taken as loopback, it was not warned of; the start then fails to bind it anyway, but
// check's verdict must not read as "admin is safe").
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
