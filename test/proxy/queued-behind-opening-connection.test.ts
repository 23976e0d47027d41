// A request that waits in a target's queue for a connection still being opened (connections.maxPerTarget reached
// by a connection whose TLS handshake has not finished) never reached the upstream: when its deadline runs out it is
// 503 upstream_busy, counted against nobody, like a request queued behind busy connections, whatever the number of
// connections open at that moment. (src/proxy/attempt.ts, #poolFull: the request still waits in the target's queue.)
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

t.test('a request queued behind a connection still opening times out as upstream_busy', async (t) => {
  // accepts TCP, never answers the TLS ClientHello: the only connection stays "opening" past the deadline
  const sockets = new Set<Socket>()
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [`https://127.0.0.1:${(server.address() as AddressInfo).port}`],
        connections: { maxPerTarget: 1 },
        retry: { attempts: 1 },
        timeouts: { connectMs: 3_000, requestMs: 500 }, // the TLS handshake outlives the test; the gateway's close waits it out
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const get = async (path: string): Promise<{ status: number; error: string }> => {
    const res = await fetch(`${gw.url}${path}`)
    return { status: res.status, error: ((await res.json()) as { error: string }).error }
  }
  // the first opens the only connection; the second waits in the queue behind it
  const first = get('/first')
  await waitFor(() => sockets.size === 1)
  const queued = await get('/queued')
  t.comment(`the request that opened the connection: ${JSON.stringify(await first)}`)
  t.strictSame(queued, { status: 503, error: 'upstream_busy' }, 'the queued request: the upstream never saw it')
  t.equal(sockets.size, 1, 'one connection was ever opened')
  const line = gw.accessLogs().find((l) => l.path === '/queued')
  t.equal(line?.error, 'upstream_busy')
  t.ok(target.failures <= 1, `no failure counted for the queued request (${target.failures} in all)`)
})
