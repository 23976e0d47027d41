// A second SIGTERM during the drain exits 1 at once and cuts the requests still in flight. It is said in the
// gateway's own log (JSON, a warning, with the signal and how many requests it cut), written out before the exit:
// close-with-grace's default was a plain-text line on stderr that log pipelines keyed on JSON never see.
import { join } from 'node:path'
import t from 'tap'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const WARN = 40

t.test('a second SIGTERM is logged as a JSON warning with the requests in flight, then exit 1', async (t) => {
  const slow = await TestUpstream.start({ name: 'slow' })
  slow.delayMs = 10_000
  t.teardown(() => slow.close())
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 10_000, timeoutMs: 20_000 },
    pools: { slow: { targets: [slow.url], retry: { perTryTimeoutMs: 20_000 } } },
    routes: [{ path: '/', pool: 'slow' }],
  })
  const cli = await startCli(t, file)
  // two requests held by the upstream: in flight when the signals come
  const inFlight = [0, 1].map(() => fetch(`${cli.url}/held`).then(async (r) => { await r.arrayBuffer(); return r.status }, () => 'cut'))
  while (slow.requests.length < 2) await new Promise((resolve) => setTimeout(resolve, 20))
  cli.kill('SIGTERM')
  await cli.waitForRecord((r) => r.msg === 'shutting down')
  // past the 250 ms in which the same signal again is the same stop delivered twice (src/main.ts SAME_STOP_MS)
  await new Promise((resolve) => setTimeout(resolve, 300))
  cli.kill('SIGTERM')
  t.strictSame(await cli.exited, { code: 1, signal: null }, 'exit 1')
  const warning = cli.records.find((r) => r.level === WARN && r.signal === 'SIGTERM')
  t.match(warning, { level: WARN, signal: 'SIGTERM', inFlight: 2 }, 'one JSON warning with the requests it cuts')
  t.strictSame(await Promise.all(inFlight), ['cut', 'cut'], 'and they were cut')
})
