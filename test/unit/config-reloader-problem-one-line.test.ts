// A load or apply error is reported as one line (config/reloader.ts): problems are shown to operators (the admin
// API's 422 body, the reload log line), and a multi-line message carries a stack, file paths of the gateway's own
// code among them. Only the first line of the message is kept.
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

function config (targets: number): ResolvedConfig {
  return validateConfig({ pools: { p: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } }, routes: [{ path: '/', pool: 'p' }] })
}

t.test('a multi-line load or apply error becomes its first line only', async (t) => {
  const multiline = (text: string): Error => new Error(`${text}\n    at load (file:///srv/switchyard/src/config/load.ts:1:1)`)
  const running = config(1)
  const failingLoad = new Reloader({ load: () => Promise.reject(multiline('cannot read routes.config.ts')), apply: () => {}, current: () => running })
  t.strictSame((await failingLoad.reload('admin')).problems, ['load: cannot read routes.config.ts'])
  const failingApply = new Reloader({ load: async () => config(2), apply: () => { throw multiline('pool rebuild failed') }, current: () => running })
  t.strictSame((await failingApply.reload('admin')).problems, ['apply: pool rebuild failed'])
})
