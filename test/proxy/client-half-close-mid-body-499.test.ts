// A client that closes its side of the connection in the middle of its request body has left: the request is
// logged 499 (client gone), the client's doing, not a 400 the gateway answered. Node's parser reports the early end
// (HPE_INVALID_EOF_STATE): counted as a parser refusal, every client that gives up mid-upload would show as a
// malformed request in the access log. Nor is a 400 written to the half-closed connection, which a client still
// reading would get while the log said 499: what it sees and what is logged agree.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway, upstream } from './setup.ts'

t.test('a client ending its side mid-body is logged 499, not 400, and is sent no 400', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  // 10 of 100 bytes (held by the gateway before it connects), then the client's FIN
  client.socket.write('PUT /upload HTTP/1.1\r\nHost: a.example\r\nX-Request-Id: half-closed\r\nContent-Length: 100\r\n\r\n0123456789')
  await waitFor(() => gw.gateway.proxy.active === 1)
  client.socket.end()
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'half-closed'))
  const line = gw.accessLogs().find((l) => l.requestId === 'half-closed')!
  t.equal(line.status, 499, 'the client left')
  t.not(line.error, 'bad_request')
  t.equal(u.hits, 0, 'nothing reached the upstream')
  await client.closed
  t.equal(client.received(), '', 'no answer on the half-closed connection')
})
