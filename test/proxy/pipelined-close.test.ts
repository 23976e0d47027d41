// Bytes pipelined after a request that closes the connection (RFC 9112 §9.6) are never processed, and every request
// before them keeps its answer: the one being streamed, and the closing one that waits its turn behind it, whose
// answer then closes the connection. Node's parser reports the bytes after it as HPE_CLOSED_CONNECTION.
import { createServer, type RequestListener, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { settlesWithin, startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection, type RawConnection } from '../helpers/raw-connection.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** A raw client connection to a gateway in front of an upstream that answers with `handler`; all closed in teardown. */
async function clientOfGatewayBefore (t: Tap, handler: RequestListener): Promise<RawConnection> {
  const upstream = createServer(handler)
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => resolve()) }))
  const gw = await startGateway({ pools: { u: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return rawConnection(t, Number(new URL(gw.url).port))
}

t.test('a closing request pipelined behind an answer being streamed, then more bytes: both answered in full, nothing after', async (t) => {
  const seen: string[] = []
  let streaming: ServerResponse | undefined
  const c = await clientOfGatewayBefore(t, (req, res) => {
    seen.push(req.url ?? '')
    req.resume()
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-length': '10' })
      res.write('hello')
      streaming = res
    } else res.end(`answer ${req.url}`)
  })
  c.socket.write('GET /stream HTTP/1.1\r\nHost: gw\r\n\r\n')
  await waitFor(() => c.received().endsWith('hello'))
  // the answer's head and first bytes are out; then a closing request and bytes after it
  c.socket.write('GET /b HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\nGET /c HTTP/1.1\r\nHost: gw\r\n\r\n')
  await new Promise((resolve) => setTimeout(resolve, 100))
  streaming!.end('world')
  await c.closed
  const text = c.received()
  t.match(text, /\r\n\r\nhelloworldHTTP\/1\.1 200/, 'the streamed answer whole, then the next')
  t.match(text, /answer \/b$/, "the closing request's answer, last")
  t.match(text.slice(text.lastIndexOf('HTTP/1.1 200')), /\r\nconnection: close\r\n/i, 'which closes the connection')
  t.same(seen, ['/stream', '/b'], 'the bytes after the closing request never reach an upstream')
})

t.test('a closing request with a large answer, then more bytes in several writes: the answer arrives whole, no reset', async (t) => {
  const size = 4 * 1024 * 1024
  let sent!: () => void
  const moreBytesSent = new Promise<void>((resolve) => { sent = resolve })
  const c = await clientOfGatewayBefore(t, (req, res) => {
    req.resume()
    // answered once the bytes after the request are on their way: they must arrive while the answer is under way.
    // Answered at once, 4 MiB can fit in the two kernels' buffers and be done before they arrive; they then meet a
    // closed socket, which resets (as after nginx's default lingering_close, which lingers only on data already there).
    void moreBytesSent.then(() => setTimeout(() => res.end(Buffer.alloc(size, 97)), 20))
  })
  c.socket.write('GET /big HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n')
  c.socket.pause()
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100))
  await pause()
  // bytes after the closing request, in two writes: the gateway stops reading at the first
  c.socket.write('GET /x HTTP/1.1\r\n')
  await pause()
  c.socket.write('Host: gw\r\n\r\n', () => sent())
  // a client that reads slowly: the answer's tail is still in its kernel's buffer when the gateway closes
  const slow = setInterval(() => {
    c.socket.resume()
    setTimeout(() => c.socket.pause(), 2)
  }, 40)
  t.teardown(() => clearInterval(slow))
  await c.closed
  clearInterval(slow)
  const text = c.received()
  t.equal(text.length - text.indexOf('\r\n\r\n') - 4, size, 'the whole answer')
  t.equal(c.error(), undefined, 'closed without a reset')
})

// (The gateway holds an answer's head for its first body bytes, and sends it alone only 50-100 ms after the turn it
// came in: src/proxy/held-heads.ts. The garbage comes well within that, while the head is held or not yet read.
// Once a head has gone out alone, the answer is under way, and garbage then cuts it, as below.)
t.test('garbage after a request whose answer head is stored but not yet sent: the connection closes after that answer', async (t) => {
  const c = await clientOfGatewayBefore(t, (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-length': '5' })
    res.flushHeaders()
    setTimeout(() => res.end('hello'), 300)
  })
  c.socket.write('GET /a HTTP/1.1\r\nHost: gw\r\n\r\n')
  await new Promise((resolve) => setTimeout(resolve, 10))
  c.socket.write('\x01\x02garbage\r\n\r\n')
  const closedInTime = await settlesWithin(c.closed, 3000)
  t.ok(closedInTime, 'closed after the answer, not left open for the keep-alive timeout')
  t.match(c.received(), /\r\n\r\nhello$/, 'the answer whole')
})
