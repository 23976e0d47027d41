// A reload that applies a restart-only change (server.port) says in its result that the setting now waits for a
// restart (config/reloader.ts: restartRequired, from the diff against the config the process started with). The
// admin API and the reload log report it from there; an empty list would tell the operator the new port is live.
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

function config (port: number): ResolvedConfig {
  return validateConfig({ server: { port }, pools: { p: { targets: ['http://10.0.0.1:3000'] } }, routes: [{ path: '/', pool: 'p' }] })
}

t.test('a successful reload that moves server.port reports it as waiting for a restart', async (t) => {
  const started = config(8080)
  let running = started
  const reloader = new Reloader({ load: async () => config(9090), apply: (next) => { running = next }, current: () => running, started })
  const result = await reloader.reload('admin')
  t.equal(result.result, 'success')
  t.strictSame(result.restartRequired, ['server.port'])
})
