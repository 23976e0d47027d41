// A stop signal while the gateway closes after a fatal error (an uncaught exception once it served) is a second event,
// not the first stop: it exits 1 at once and says so in the log (src/main.ts onStopSignal: no first stop once
// close-with-grace has begun closing, stopRequested). Taken for a first stop, it ran a graceful shutdown into the
// gateway already closing for the error, and the process waited for that close, without the warning.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const WARN = 40
const ERROR = 50

t.test('a fatal error, then a SIGTERM while the gateway closes: exit 1 at once, the signal logged', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const dir = t.testdir()
  const file = join(dir, 'routes.config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 10_000 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  // a request for /boom throws outside any handler (a bug); from then on closing a server takes 5 s
  const preload = join(dir, 'boom.mjs')
  writeFileSync(preload, `import http from 'node:http'
let boom = false
const emit = http.Server.prototype.emit
http.Server.prototype.emit = function (event, req, ...rest) {
  if (event === 'request' && req.url === '/boom') { boom = true; setImmediate(() => { throw new Error('a bug') }) }
  return emit.call(this, event, req, ...rest)
}
const close = http.Server.prototype.close
http.Server.prototype.close = function (cb) {
  return close.call(this, (...args) => setTimeout(() => cb?.(...args), boom ? 5000 : 0))
}
`)
  const cli = await startCli(t, file, { nodeArgs: ['--import', preload, 'src/main.ts'] })
  fetch(`${cli.url}/boom`).catch(() => {})
  await cli.waitForRecord((r) => r.level === ERROR && r.msg === 'fatal error, shutting down')
  const signalledAt = Date.now()
  cli.kill('SIGTERM')
  t.strictSame(await cli.exited, { code: 1, signal: null }, 'exit 1')
  const took = Date.now() - signalledAt
  t.ok(took < 2500, `exited ${took} ms after the signal, not once the 5 s close was over`)
  t.ok(cli.records.some((r) => r.level === WARN && r.signal === 'SIGTERM'), 'the signal said in the log')
  t.notOk(cli.records.some((r) => r.msg === 'shutting down'), 'no graceful shutdown began')
})
