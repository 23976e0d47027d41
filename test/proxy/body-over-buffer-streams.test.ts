// A body over retry.maxBufferBytes is never held whole, even one that arrives in a single read: it streams (and so
// is not replayed), as one that trickles in does. Held whole, it would stay in memory for retries past the limit.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from './setup.ts'

const MAX_BUFFER = 1000

t.test('a body over maxBufferBytes that arrives at once streams: a 503 is not retried', async (t) => {
  const u = await upstream(t, 'u')
  u.failCount = 1
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], retry: { attempts: 3, maxBufferBytes: MAX_BUFFER, backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  // head and body in one write: on loopback they arrive in one read
  client.socket.write(`PUT /put HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${2 * MAX_BUFFER}\r\n\r\n${'x'.repeat(2 * MAX_BUFFER)}`)
  await waitFor(() => gw.accessLogs().length === 1 && client.received().includes('\r\n\r\n'))
  t.match(client.received(), /^HTTP\/1\.1 503 /, "the upstream's 503 is the answer: the streamed body could not be sent again")
  t.equal(u.hits, 1)
  t.equal(u.requests[0]!.bodyBytes, 2 * MAX_BUFFER, 'the whole body went upstream')
})
