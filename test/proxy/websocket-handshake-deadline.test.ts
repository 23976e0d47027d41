// A WebSocket handshake whose target accepts it and never answers is answered 504 upstream_timeout at the pool's
// timeouts.requestMs (the deadline for the response headers), as a plain request is, and counts as the target's
// failure; it is not left to undici's headers timeout, max(requestMs, idleMs). The manual clock drives requestMs.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway, type Tap } from './setup.ts'

/** A target that accepts connections, reads what comes and never answers. */
async function silentTarget (t: Tap): Promise<{ url: string; received: () => string }> {
  const sockets = new Set<Socket>()
  let received = ''
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, received: () => received }
}

t.test('a handshake the target never answers is 504 upstream_timeout at requestMs, a failure of the target', async (t) => {
  const silent = await silentTarget(t)
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [silent.url],
        retry: { attempts: 1 },
        timeouts: { requestMs: 500, idleMs: 60_000 },
        outlier: { consecutiveFailures: 1, maxEjectionPercent: 100 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => silent.received().includes('\r\n\r\n'))
  clock.advance(499)
  await new Promise((resolve) => setImmediate(resolve)) // the deadline's verdict runs on the next turn
  t.equal(client.received(), '', 'nothing before requestMs')
  clock.advance(1)
  // (bounded: without the gateway's deadline only undici's 60 s headers timeout would end it)
  await waitFor(() => client.isClosed(), 3000)
  t.match(client.received(), /^HTTP\/1\.1 504 /)
  t.match(client.received(), /"error":"upstream_timeout"/)
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 504, error: 'upstream_timeout', attempts: 1, target: silent.url })
  await waitFor(() => target.inFlight === 0)
  t.equal(target.failures, 1, 'counted as the target\'s failure')
  t.equal(gw.gateway.status().pools.p!.targets[0]!.state, 'ejected', 'outlier detection heard it')
})
