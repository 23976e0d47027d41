// A health probe on a kept-alive connection that fails at once with a socket error is taken for the race with an
// upstream that closed the connection while idle, and goes again at once on a new connection (no verdict). An
// unexpected 100 Continue is refused by undici with a socket error too ('bad response', UND_ERR_SOCKET), but it is
// the target's answer: a failed probe, as it is a 502 upstream_bad_response for a request. Before, every such probe
// went again on a new connection, whose first answer passed: an upstream answering every reused connection that
// way stayed healthy while its requests failed.
import type { Socket } from 'node:net'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawUpstream } from '../helpers/raw-upstream.ts'

/** Each connection answers its first request 200, and every later one 100 Continue, then 200. */
const hundredOnReuse = (socket: Socket, nth: number): void => {
  socket.write(`${nth > 1 ? 'HTTP/1.1 100 Continue\r\n\r\n' : ''}HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok`)
}

t.test('an unexpected 100 on a reused probe connection fails the probe; it is not sent again', async (t) => {
  const u = await rawUpstream(t, hundredOnReuse)
  const gw = await startGateway({
    pools: { p: { targets: [u.url], healthCheck: { path: '/health', intervalMs: 50, timeoutMs: 40, jitter: 0, unhealthyThreshold: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.status().pools.p!.targets[0]!.state === 'unhealthy')
  t.equal(gw.gateway.status().pools.p!.targets[0]!.lastCheck?.ok, false)
  t.equal(u.connections(), 1, 'the first connection answered it: no second one for a probe sent again')
})
