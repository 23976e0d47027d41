// A declined WebSocket upgrade is an answer from the upstream, and a success for the pool's breaker when its status is
// no failure status, as a request's 403 is (forward.ts verdictOf): a half-open breaker whose probe is a handshake the
// upstream declines (403) closes. Not judged, the pool would stay half-open, one probe at a time, for as long as its
// only traffic is refused upgrades from an upstream that is up. A client that leaves in the middle of the declined
// answer says nothing of the upstream, as a request whose client left says nothing: the breaker stays half-open, its
// probe slot free, rather than closing on an answer nobody saw end.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, type Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

/** A gateway whose pool's breaker is half-open, in front of an upstream that answers every handshake with `answer`. */
async function halfOpenBehind (t: Tap, answer: string) {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => { socket.write(answer) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const gw = await gateway(t, {
    pools: { p: { targets: [`http://127.0.0.1:${(server.address() as { port: number }).port}`], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 200 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const runtime = gw.gateway.pools().get('p')!
  runtime.breaker.force('open')
  await waitFor(() => runtime.breaker.state === 'half-open')
  return { gw, runtime }
}

t.test('a half-open breaker\'s probe declined 403: the breaker closes', async (t) => {
  const { gw, runtime } = await halfOpenBehind(t, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno')
  const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'probe'))
  t.equal(res.status, 403)
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.equal(runtime.breaker.state, 'closed', 'the upstream answered: the probe succeeded')
})

t.test('the probe\'s client resets in the middle of a 403: the breaker stays half-open, the slot free', async (t) => {
  const { gw, runtime } = await halfOpenBehind(t, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789')
  const client = await sendHandshake(t, gw.url)
  await waitFor(() => client.received().includes('0123456789'))
  client.socket.resetAndDestroy()
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 403, upstreamDeclinedUpgrade: true, aborted: true })
  t.equal(runtime.breaker.state, 'half-open', 'neither closed nor reopened')
  t.equal(runtime.breaker.allows(), true, 'the probe slot is free again')
})
