// A target that never accepts: connections to it stay "being opened", as to a host that drops packets.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Tap } from './setup.ts'

/**
 * A listener whose process sleeps without accepting (its thread blocked in Atomics.wait, no CPU spent), its accept
 * queue filled: a connection to it hangs in SYN_SENT. Returns its http:// URL.
 */
export async function blackhole (t: Tap): Promise<string> {
  const child = spawn(process.execPath, ['-e', `
    const server = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000))
    })`], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const port = Number(String((await once(child.stdout, 'data'))[0]).trim())
  // (a backlog of 0 would be read as Node's default, 511)
  for (let i = 0; i < 8; i++) {
    const filler = connect(port, '127.0.0.1')
    filler.on('error', () => {})
    t.teardown(() => { filler.destroy() })
  }
  // the fillers' handshakes complete into the accept queue before the test's own connection comes
  await new Promise((resolve) => setTimeout(resolve, 200))
  return `http://127.0.0.1:${port}`
}
