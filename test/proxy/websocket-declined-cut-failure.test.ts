// A declined WebSocket upgrade whose answer the upstream cuts short (a reset in the middle of its 403 body) is the
// target's failure whatever its status, as a request's answer cut short is: counted in the target's failures, heard by
// outlier detection and by the pool's breaker, and the client's connection is cut. Without it a target that resets
// mid-answer would look healthy to every one of them.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway } from './setup.ts'

t.test('the upstream resets in the middle of its 403: the target\'s failure, ejected, the breaker open', async (t) => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => { socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789') })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [url],
        retry: { attempts: 1 },
        outlier: { consecutiveFailures: 1, maxEjectionPercent: 100 },
        circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => client.received().includes('0123456789'))
  for (const s of sockets) s.resetAndDestroy()
  await client.closed
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 403, upstreamDeclinedUpgrade: true, error: 'upstream_unreachable' })
  await waitFor(() => target.inFlight === 0)
  t.equal(target.failures, 1, 'counted as the target\'s failure')
  const pool = gw.gateway.status().pools.p!
  t.equal(pool.targets[0]!.state, 'ejected', 'outlier detection heard it')
  t.equal(pool.circuit, 'open', 'the breaker counted it')
})
