// With retry.maxBufferBytes 0 the gateway holds none of a body before it takes an upstream connection (README:
// "up to retry.maxBufferBytes of a body are read before an upstream connection is taken"): the request is
// dispatched as soon as its head is in, and the body streams behind it, however long its first byte takes (a
// streamed upload is bounded by clientIdleMs, and its response deadline starts once it has been sent). Waiting for
// the first body byte instead would put that byte under requestMs (408) on a route that buffers nothing.
// The gateway runs on a manual clock: the test moves time past requestMs instead of sleeping.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway, upstream } from './setup.ts'

t.test('maxBufferBytes 0: a request whose body has not started is dispatched on its head, and its body streams later', async (t) => {
  const u = await upstream(t, 'u')
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], timeouts: { requestMs: 300 }, retry: { attempts: 1, maxBufferBytes: 0 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  // a raw connection: Node's own client would hold the head back until the first body byte
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  client.socket.write('PUT /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100\r\n\r\n')
  // not one body byte sent yet: the request already holds its upstream connection
  await waitFor(() => target.inFlight === 1)
  clock.advance(1000) // past requestMs (well within clientIdleMs): nothing was held, nothing times out
  client.socket.write('b'.repeat(100))
  await waitFor(() => /\r\n\r\n\{.*\}$/s.test(client.received()) || client.isClosed())
  t.match(client.received(), /^HTTP\/1\.1 200 /)
  t.equal(u.requests[0]?.bodyBytes, 100, 'the whole body reached the upstream')
})
