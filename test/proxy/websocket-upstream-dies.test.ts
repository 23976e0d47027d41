// The upstream end of an open WebSocket tunnel goes away (reset, FIN, the whole upstream dies): the client's side is
// closed at once and the target released. A tunnel ending, however it ends, is not a request failure: no failure
// count, no outlier ejection, no breaker trip, even with both set to react to the first failure. A target that
// cannot be reached for the handshake is a failure, as for any request.
import t from 'tap'
import type { TargetStatusView } from '../../src/admin/status-types.ts'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel, wsHandshake } from './ws-tunnel.ts'

t.test('the upstream side closing ends the tunnel at once and counts as no failure', async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gw = await gateway(t, {
    pools: {
      ws: {
        targets: [a.url, b.url],
        outlier: { consecutiveFailures: 1, maxEjectionPercent: 100 },
        circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 1 },
      },
    },
    routes: [{ path: '/', pool: 'ws' }],
  }, { defaultMetrics: false })
  const port = portOf(gw.url)
  const view = (u: typeof a): TargetStatusView => gw.gateway.status().pools.ws!.targets.find((x) => x.id === `127.0.0.1:${u.port}`)!

  // round robin: a, b, a, b, a, b
  const [reset, onB, fin, ...rest] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => openTunnel(t, port)))
  const ofA = [...a.tunnels]
  t.equal(ofA.length, 3)

  ofA[0]!.destroy()
  await waitFor(() => reset!.isClosed())
  t.pass('the target resetting its end closes the client\'s end')
  ofA[1]!.end()
  await waitFor(() => fin!.isClosed())
  t.pass('the target ending its end (FIN) closes the client\'s end')
  await onB!.roundTrip('the other tunnels are untouched')

  await waitFor(() => view(a).inFlight === 1)
  t.match(view(a), { state: 'healthy', inFlight: 1, tunnels: 1, failures: 0 }, 'released; not a failure, not ejected')
  t.equal(gw.gateway.status().pools.ws!.circuit, 'closed', 'the breaker stays closed')

  // the whole upstream dies with a tunnel open
  await a.close()
  const onA = rest.find((x) => x.isClosed() || !b.requests.some((r) => r.headers['x-request-id'] === x.requestId))!
  await waitFor(() => onA.isClosed())
  t.pass("the upstream dying closes the client's end of its tunnel")
  await waitFor(() => view(a).inFlight === 0)
  t.match(view(a), { state: 'healthy', tunnels: 0, failures: 0 }, 'still no failure: every tunnel ended, none failed')
  t.equal(gw.gateway.status().pools.ws!.circuit, 'closed')
  for (const x of [reset!, fin!, onA]) {
    await waitFor(() => gw.accessLogs().some((l) => l.requestId === x.requestId))
    t.match(gw.accessLogs().find((l) => l.requestId === x.requestId), { status: 101, pool: 'ws' }, 'each ended tunnel has its 101 access-log line')
  }

  // a new upgrade that gets the dead target cannot reach it: that is a failure, and ejects it; the handshake never
  // left, so it is retried on the live target (retryOn has connect-failure by default), as a request is
  for (let i = 0; i < 2; i++) t.equal((await rawRequest(port, wsHandshake('/x', `after-death-${i}`))).status, 101)
  t.match(view(a), { state: 'ejected', failures: 1 }, 'the failed connect is counted and ejects the target')
  await openTunnel(t, port)
  t.equal(b.tunnels.size, 4, 'new tunnels go to the live target')
})
