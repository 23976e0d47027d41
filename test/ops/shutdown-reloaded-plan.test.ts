// The CLI's backstop for a shutdown that never ends (delayMs + timeoutMs + 5 s, then exit 1) follows the shutdown
// plan in force when the signal comes. It used to be fixed at start: after a reload lengthened timeoutMs, a slow
// request inside the new plan was cut at the old backstop and the process exited 1.
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a reload that lengthens shutdown.timeoutMs lengthens the backstop too', async (t) => {
  const slow = await TestUpstream.start({ name: 'slow' })
  slow.delayMs = 6500 // past the start-up plan's backstop (0 + 100 + 5,000 ms), inside the reloaded one's
  t.teardown(() => slow.close())
  const config = (timeoutMs: number): GatewayConfig => ({
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs },
    pools: { slow: { targets: [slow.url], retry: { perTryTimeoutMs: 20_000 } } },
    routes: [{ path: '/', pool: 'slow' }],
  })
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, config(100))
  const cli = await startCli(t, file)
  writeConfig(file, config(15_000))
  // the CLI watches its file: whichever reload runs first (this one, or the watcher's after its debounce) loads the
  // new plan, and the other finds it 'unchanged'
  const reload = await fetch(`${cli.adminUrl}/reload`, { method: 'POST' })
  t.equal(reload.status, 200, 'reloaded')
  t.match(((await reload.json()) as { result: string }).result, /^(success|unchanged)$/, 'loaded by this reload or by the watcher\'s')
  t.match(await cli.waitForRecord((r) => r.event === 'reload'), { diff: { settings: ['shutdown.timeoutMs'] } }, 'the new plan is in force')

  const answer = fetch(`${cli.url}/`).then(async (res) => ({ status: res.status, body: await res.text() }), (err: Error) => ({ status: 0, body: String(err) }))
  await waitFor(() => slow.hits === 1) // in flight at the upstream: a signal before it would close the listener on it
  cli.kill('SIGTERM')
  const served = await answer
  t.equal(served.status, 200, 'the slow request is answered inside the reloaded plan')
  t.strictSame(await cli.exited, { code: 0, signal: null }, 'exit 0')
})
