// timeouts.connectMs is the connect timeout per attempt (README), and it must fire when it says: undici's own
// connect timer runs on its coarse timers (ticks of about half a second), so connectMs 100 gave up after ~1.05 s and
// the default 1000 after ~1.5 s. The gateway's connector keeps the timeout with a timer of its own (one per new
// connection, never per request). The upstream here is a listener whose accept queue is full: the handshake is
// never answered, as with a black-holed or overloaded host. Each give-up is compared with a plain timer of the same
// length started beside it, so a loaded host's late event loop cannot fail it.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { resetAwareConnector } from '../../src/upstream/connector.ts'
import { startGateway } from '../helpers/gateway.ts'
import type { HasTeardown } from '../proxy/setup.ts'

/**
 * A listener (in a child process whose event loop is blocked, so it never accepts) with its accept queue full:
 * connects to its port wait for a handshake that never comes.
 */
async function fullListener (t: HasTeardown): Promise<number> {
  const script = `const s = require('node:net').createServer()
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
})`
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const fillers: Socket[] = []
  t.teardown(() => {
    for (const s of fillers) s.destroy()
    child.kill('SIGKILL')
  })
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d) => resolve(Number(String(d).trim()))))
  // backlog 1 holds two handshaken connections; once they are in, nothing else gets a handshake
  for (let i = 0; i < 2; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    fillers.push(s)
    await new Promise((resolve) => s.once('connect', resolve))
  }
  return port
}

t.test('the connector gives up at its timeout, not at the next tick of a coarse timer', async (t) => {
  const port = await fullListener(t)
  for (const timeout of [150, 400]) {
    const started = performance.now()
    // a plain timer of the same length, started at the same time: a loaded host delays both alike (the full suite
    // once held the loop 330 ms), and undici's coarse timers would give up ~0.5-1 s after it
    const plain = new Promise<number>((resolve) => setTimeout(() => resolve(performance.now() - started), timeout))
    const err = await new Promise<Error & { code?: string }>((resolve) => {
      resetAwareConnector({ timeout })({ hostname: '127.0.0.1', host: `127.0.0.1:${port}`, protocol: 'http:', port: String(port) }, (e, _socket) => resolve(e!))
    })
    const took = performance.now() - started
    const plainTook = await plain
    t.equal(err.code, 'UND_ERR_CONNECT_TIMEOUT', `${timeout} ms: a connect timeout`)
    t.ok(took >= timeout - 5 && took < plainTook + 200, `${timeout} ms: gave up after ${Math.round(took)} ms (a plain timer: ${Math.round(plainTook)} ms)`)
  }
})

t.test('a pool\'s connectMs bounds an attempt at a host that never answers the handshake', async (t) => {
  const port = await fullListener(t)
  const connectMs = 200
  const gw = await startGateway({
    pools: {
      p: {
        targets: [`http://127.0.0.1:${port}`],
        timeouts: { connectMs, requestMs: 10_000 },
        retry: { attempts: 1 },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  t.teardown(() => gw.close())
  // the first request also pays for the gateway's first connections (the test's own to it included): untimed
  t.equal((await fetch(`${gw.url}/x`)).status, 502)
  for (let i = 0; i < 2; i++) {
    const started = performance.now()
    // a plain timer beside it, for a loaded host's late event loop (the gateway runs in this process)
    const plain = new Promise<number>((resolve) => setTimeout(() => resolve(performance.now() - started), connectMs))
    const res = await fetch(`${gw.url}/x`)
    const took = performance.now() - started
    const plainTook = await plain
    t.equal(res.status, 502)
    t.equal(((await res.json()) as { error: string }).error, 'upstream_unreachable')
    t.ok(took >= connectMs - 5 && took < plainTook + 300, `answered after ${Math.round(took)} ms (a plain timer: ${Math.round(plainTook)} ms)`)
  }
})
