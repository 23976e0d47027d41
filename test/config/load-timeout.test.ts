// A .ts config that never finishes loading (a top-level await that never settles, or one waiting on a secret store
// that does not answer) is refused once its time limit passes: the reload is an error like any refused one (logged,
// counted, POST /reload answered 422) and the reloader is free for the next one. Before, the import was awaited with
// no limit: that reload and every later one (file, SIGHUP, admin) waited forever, and nothing was logged.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'
import { adminRequest } from '../admin/admin-request.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

const HANGS = 'await new Promise(() => {})\n'
const config = (target: string, before = ''): string =>
  `${before}export default { pools: { p: { targets: [${JSON.stringify(target)}] } }, routes: [{ path: '/', pool: 'p' }] }\n`

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-timeout-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('a config that never finishes loading is a ConfigError once the limit passes; process.exit is as it was', async (t) => {
  const file = join(await tempDir(t), 'routes.config.ts')
  await writeFile(file, config('http://a:1', HANGS))
  const exit = process.exit
  const err = await loadConfigFile(file, { timeoutMs: 50 }).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  t.match((err as ConfigError).problems, [/^cannot load: timed out after 50 ms/])
  t.not(process.exit, exit, 'the guard stays while the import left behind may still run')
  await writeFile(file, config('http://a:2'))
  t.equal((await loadConfigFile(file, { timeoutMs: 50 })).pools.p!.targets[0]!.url, 'http://a:2', 'the fixed file loads')
})

t.test('a gateway refuses the hung reload, logs and counts it, and takes the next one', async (t) => {
  const [a, b] = [await TestUpstream.start({ name: 'a' }), await TestUpstream.start({ name: 'b' })]
  const file = join(await tempDir(t), 'routes.config.ts')
  await writeFile(file, config(a.url))
  const gw = await startGateway({ pools: { p: { targets: [a.url] } }, routes: [{ path: '/', pool: 'p' }] },
    { configFile: file, configLoadTimeoutMs: 100, defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await a.close(); await b.close() })

  await writeFile(file, config(b.url, HANGS))
  const refused = await adminRequest(admin, 'POST', '/reload')
  t.equal(refused.status, 422, 'POST /reload is answered')
  t.equal(refused.body.error, 'invalid_config')
  t.equal(gw.logs.filter((l) => l.event === 'reload-rejected').length, 1, 'the refusal is logged')
  t.equal(seriesOf(await gw.gateway.metrics!.render())['switchyard_config_reloads_total{result="error"}'], 1, 'and counted')
  t.equal(((await (await fetch(`${gw.url}/x`)).json()) as { name: string }).name, 'a', 'the running config stays')

  await writeFile(file, config(b.url))
  t.equal((await gw.gateway.reload('signal')).result, 'success', 'the next reload runs')
  t.equal(((await (await fetch(`${gw.url}/x`)).json()) as { name: string }).name, 'b')
})
