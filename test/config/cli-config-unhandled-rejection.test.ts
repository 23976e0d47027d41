// A config that starts two secret fetches and awaits one (`const vault = fetchVault(); const consul = await
// fetchConsul()`) leaves the other's rejection unhandled when both fail. The reload is refused, and the stray
// rejection is the config's, not the gateway's: the CLI logs it as a warning naming the config and keeps serving.
// Before, close-with-grace took every unhandled rejection as fatal and the whole gateway shut down. A rejection of
// the gateway's own (no config module on its stack) stays fatal: logged, then exit 1.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startCli } from '../helpers/cli-process.ts'

const WARN = 40
const BASE = "export default { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'p' }] }\n"
// a preload that makes a rejection of the gateway's own on SIGWINCH (a signal close-with-grace leaves alone; nothing
// of the config on the rejection's stack)
const GATEWAY_REJECTION = "data:text/javascript,process.on('SIGWINCH', () => { Promise.reject(new Error('gateway bug')) })"

t.test('a refused config\'s stray rejection is a warning; the gateway serves on; its own rejection is fatal', async (t) => {
  const file = join(t.testdir(), 'routes.config.mjs')
  writeFileSync(file, BASE)
  const cli = await startCli(t, file, { nodeArgs: ['--import', GATEWAY_REJECTION, 'src/main.ts'] })
  writeFileSync(file, "const vault = new Promise((resolve, reject) => setTimeout(() => reject(new Error('vault down')), 20))\n" +
    "await new Promise((resolve, reject) => setTimeout(() => reject(new Error('consul down')), 5))\n" + BASE)
  const reload = await fetch(`${cli.adminUrl}/reload`, { method: 'POST' })
  t.equal(reload.status, 422, 'the reload is refused')
  const warning = await cli.waitForRecord((r) => r.level === WARN && r.config === file)
  t.match(warning, { level: WARN, config: file, err: { type: 'Error' } }, 'the stray rejection: one warning naming the config')
  t.equal((await fetch(`${cli.url}/x`)).status, 502, 'the gateway still serves (its target refuses)')
  t.ok(cli.running(), 'and runs')

  cli.kill('SIGWINCH')
  t.strictSame(await cli.exited, { code: 1, signal: null }, 'a rejection of the gateway\'s own: exit 1')
  t.ok(cli.records.some((r) => r.msg === 'fatal error, shutting down'), 'after the fatal error is logged')
})
