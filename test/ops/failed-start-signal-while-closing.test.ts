// A start that failed (admin.port in use) and is closing what it opened (up to
// FAILED_START_CLOSE_MS) when a SIGTERM comes still says why it failed and exits 1. On HEAD the catch in serve()
// removes every stop listener, the SIGTERM takes its default action, and the process dies by the signal with the
// reason never written (systemd counts a SIGTERM death a clean stop; review r41i).
import { writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv, writeConfig } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

t.test('admin.port in use, a SIGTERM while the failed start closes: the reason said, exit 1', async (t) => {
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  const port = (holder.address() as AddressInfo).port
  const dir = t.testdir()
  const file = join(dir, 'routes.config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port },
    pools: { p: { targets: ['http://127.0.0.1:9'] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  // the failed start's close takes 300 ms, and a SIGTERM comes 20 ms into it
  const preload = join(dir, 'slow-close.mjs')
  writeFileSync(preload, `import http from 'node:http'
const close = http.Server.prototype.close
let signalled = false
http.Server.prototype.close = function (cb) {
  if (!signalled) { signalled = true; setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20) }
  return close.call(this, (...rest) => setTimeout(() => cb?.(...rest), 300))
}
`)
  const proc = spawn(NODE, ['--import', preload, 'src/main.ts', '--config', file], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exit = await new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  t.same(exit, { code: 1, signal: null })
  t.match(stderr, new RegExp(`admin\\.port: ${port} is in use`))
})
