// When apply fails, the config in force is still the one before the reload: the result's restartRequired says what
// that config waits for against the one the process started with (config/reloader.ts), not what the refused config
// would have needed. Reporting the refused config's restart-only changes would tell an operator a restart is
// pending for a config that never applied.
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

function config (port: number, targets = 1): ResolvedConfig {
  return validateConfig({ server: { port }, pools: { p: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } }, routes: [{ path: '/', pool: 'p' }] })
}

t.test('a failed apply reports what the running config waits for, not the refused one', async (t) => {
  const started = config(8080)
  const running = started
  const reloader = new Reloader({
    load: async () => config(9090, 2),
    apply: () => { throw new Error('pool rebuild failed') },
    current: () => running,
    started,
  })
  const result = await reloader.reload('admin')
  t.equal(result.result, 'error')
  t.strictSame(result.diff?.restartRequired, ['server.port'], 'the refused config changed server.port')
  t.strictSame(result.restartRequired, [], 'the config in force is the started one: nothing waits')
})
