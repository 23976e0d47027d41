// A reloader not told the config the process started with (ReloaderOptions.started) cannot say which settings wait
// for a restart: its results carry no restartRequired at all (config/reloader.ts), while the diff still names the
// restart-only settings that changed from the previous config. A restartRequired there would claim to describe what
// differs from the running process without knowing it.
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

function config (port: number): ResolvedConfig {
  return validateConfig({ server: { port }, pools: { p: { targets: ['http://10.0.0.1:3000'] } }, routes: [{ path: '/', pool: 'p' }] })
}

t.test('without started, a reload that changes server.port reports it in the diff only', async (t) => {
  let running = config(8080)
  const reloader = new Reloader({ load: async () => config(9090), apply: (next) => { running = next }, current: () => running })
  const result = await reloader.reload('admin')
  t.equal(result.result, 'success')
  t.strictSame(result.diff?.restartRequired, ['server.port'], 'the diff names it')
  t.notOk('restartRequired' in result, 'the result carries no restartRequired')
  const again = await reloader.reload('admin')
  t.equal(again.result, 'unchanged')
  t.notOk('restartRequired' in again, 'nor does an unchanged one')
})
