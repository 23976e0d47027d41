// A small body is buffered (so it can be replayed) before anything goes upstream. A client that does not
// send all of it within the request deadline gets 408 request_timeout, its connection is closed (the unread
// rest of the body would poison keep-alive), and the upstream never sees the request.
import { connect } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, upstream } from './setup.ts'

const routes = [{ path: '/', pool: 'p' }]

/** Counts every request the upstream starts to receive (complete or not). */
function countRequests (u: TestUpstream): { count: number } {
  const seen = { count: 0 }
  u.server.on('request', () => { seen.count++ })
  return seen
}

const partialPost = (requestId: string): string =>
  'POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n' +
  `X-Request-Id: ${requestId}\r\n\r\n` + 'x'.repeat(10)

t.test('a buffered body that does not arrive within requestMs gets 408 request_timeout', async (t) => {
  const u = await upstream(t, 'u')
  const seen = countRequests(u)
  // default retry: a 100-byte POST is buffered for a replay before it is sent
  const gw = await gateway(t, { pools: { p: { targets: [u.url], timeouts: { requestMs: 300 } } }, routes })

  const started = Date.now()
  const res = await rawRequest(portOf(gw.url), partialPost('slow-body'), 5000)
  const elapsed = Date.now() - started
  t.equal(res.status, 408)
  t.equal(res.json().error, 'request_timeout')
  t.equal(res.headers.connection, 'close', 'the connection is not kept alive with an unread body on it')
  t.equal(res.headers['x-request-id'], 'slow-body')
  t.ok(elapsed < 3000, `answered around the deadline (${elapsed} ms)`)
  t.equal(seen.count, 0, 'the upstream never received the request')
  t.equal(u.hits, 0)

  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'slow-body'))
  const line = gw.accessLogs().find((l) => l.requestId === 'slow-body')!
  t.equal(line.status, 408)
  t.equal(line.error, 'request_timeout')
  t.equal(gw.gateway.pools().get('p')!.pool.targets[0]!.inFlight, 0)
  t.equal(gw.gateway.pools().get('p')!.breaker.state, 'closed', 'a slow client is not the upstream failing')
})

t.test('the gateway closes the connection after the 408', async (t) => {
  const u = await upstream(t, 'u')
  const seen = countRequests(u)
  const gw = await gateway(t, { pools: { p: { targets: [u.url], timeouts: { requestMs: 300 } } }, routes })

  const socket = connect(portOf(gw.url), '127.0.0.1')
  t.teardown(() => { socket.destroy() })
  let received = ''
  let closedByPeer = false
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.on('end', () => { closedByPeer = true })
  socket.on('close', () => { closedByPeer = true })
  socket.on('error', () => { /* a reset also counts as closed */ })
  socket.write(partialPost('slow-body-close'))

  await waitFor(() => closedByPeer, 5000)
  t.match(received, /^HTTP\/1\.1 408 /, 'the 408 arrived before the close')
  t.equal(received.match(/HTTP\/1\.1 /g)?.length, 1, 'one response only')
  t.equal(seen.count, 0, 'the upstream never received the request')
})
