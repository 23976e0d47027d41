// bytesOut of pipelined requests is each line's own answer. A line is written at its response's 'close', after Node
// has given the connection to the next queued response (resOnFinish, at 'finish'); the gateway answers a 404 there
// and then, and its bytes were credited to the line before it (and the 404's line logged 0). A pipelined answer that never
// finished (cut mid-body) logs what actually went out on its connection, never a negative count.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { portOf, rawExchange } from './raw.ts'
import { gateway, upstream } from './setup.ts'

/** The wire size of each response in `bytes` (every one framed by Content-Length). */
function answerSizes (bytes: Buffer): number[] {
  const sizes: number[] = []
  let at = 0
  while (at < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', at) + 4
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(bytes.subarray(at, headEnd).toString('latin1'))?.[1])
    sizes.push(headEnd - at + length)
    at = headEnd + length
  }
  return sizes
}

t.test('four pipelined requests, a large answer among them: each line counts its own answer', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/p', pool: 'p' }] }, { defaultMetrics: false })
  const ids = ['first-404', 'large', 'second-404', 'last']
  const requests = [
    'GET /nowhere HTTP/1.1\r\nHost: a\r\nX-Request-Id: first-404\r\n\r\n',
    `GET /p/big?bytes=${1 << 20} HTTP/1.1\r\nHost: a\r\nX-Request-Id: large\r\n\r\n`,
    'GET /nowhere HTTP/1.1\r\nHost: a\r\nX-Request-Id: second-404\r\n\r\n',
    'GET /p/ok HTTP/1.1\r\nHost: a\r\nX-Request-Id: last\r\nConnection: close\r\n\r\n',
  ]
  const received = await rawExchange(portOf(gw.url), requests.join(''))
  const sizes = answerSizes(received)
  t.equal(sizes.length, 4, 'four answers')
  await waitFor(() => ids.every((id) => gw.accessLogs().some((l) => l.requestId === id)))
  const logged = ids.map((id) => gw.accessLogs().find((l) => l.requestId === id)!.bytesOut)
  t.same(logged, sizes, 'bytesOut, line by line, as on the wire')
})

t.test('a pipelined answer cut mid-body: its line counts the bytes that went out, not a negative number', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'reset-mid-body' // a head, 1000 of 100000 body bytes, then the upstream's connection is destroyed
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/p', pool: 'p' }] }, { defaultMetrics: false })
  const c = rawConnection(t, portOf(gw.url))
  await c.connected
  // the second request is queued behind the first's answer (marked as pipelined) before that answer begins
  c.socket.write('GET /p/cut HTTP/1.1\r\nHost: a\r\nX-Request-Id: cut\r\n\r\nGET /p/next HTTP/1.1\r\nHost: a\r\nX-Request-Id: next\r\n\r\n')
  await c.closed
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'cut'))
  const line = gw.accessLogs().find((l) => l.requestId === 'cut')!
  t.match(c.received(), /^HTTP\/1\.1 200 /, 'the head went out before the cut')
  t.equal(line.status, 200, 'logged with the status that went out')
  t.equal(line.bytesOut, Buffer.byteLength(c.received(), 'latin1'), 'bytesOut: what the client received of the cut answer')
})

t.test('a proxied answer holding its connection, a 404 queued behind it: each line counts its own answer', async (t) => {
  // the first request's response holds the connection when the second's arrives: it is marked only as the holder,
  // and the queued 404 is written into the connection in its 'finish', before its line is written at its 'close'
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/p', pool: 'p' }] }, { defaultMetrics: false })
  const ids = ['proxied', 'queued-404']
  const requests = [
    'GET /p/ok HTTP/1.1\r\nHost: a\r\nX-Request-Id: proxied\r\n\r\n',
    'GET /nowhere HTTP/1.1\r\nHost: a\r\nX-Request-Id: queued-404\r\nConnection: close\r\n\r\n',
  ]
  const received = await rawExchange(portOf(gw.url), requests.join(''))
  const sizes = answerSizes(received)
  t.equal(sizes.length, 2, 'two answers')
  await waitFor(() => ids.every((id) => gw.accessLogs().some((l) => l.requestId === id)))
  const logged = ids.map((id) => gw.accessLogs().find((l) => l.requestId === id)!.bytesOut)
  t.same(logged, sizes, 'bytesOut, line by line, as on the wire')
})
