// The access log's bytesIn is the request body received, every byte of it: also the bytes Node read together with
// the head (up to 64 KiB in one read). It was counted from the socket's bytesRead at the request event, which
// already includes that read: a chunked upload sent in one write, a body that stopped half-way (408) and a client
// that left mid-upload (499) were each logged short. Chunked bodies count their data, not the chunk framing.
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { portOf } from './raw.ts'
import { gateway, upstream, type HasTeardown } from './setup.ts'

function send (t: HasTeardown, gw: TestGateway, bytes: string): Socket {
  const socket = connect(portOf(gw.url), '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.on('error', () => {})
  socket.resume()
  socket.write(bytes)
  return socket
}

async function lineOf (gw: TestGateway, requestId: string): Promise<Record<string, unknown>> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  return gw.accessLogs().find((l) => l.requestId === requestId)!
}

t.test('a chunked upload sent in one write with its head: every body byte is counted', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  // over retry.maxBufferBytes (64 KiB): streamed on behind the prefix read first
  const data = 'x'.repeat(100_000)
  send(t, gw, `POST /up HTTP/1.1\r\nHost: a\r\nX-Request-Id: one-write\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`)
  const line = await lineOf(gw, 'one-write')
  t.equal(line.status, 200)
  t.equal(u.requests[0]?.bodyBytes, data.length, 'the upstream had it all')
  t.equal(line.bytesIn, data.length, 'bytesIn: the body, read with the head or after it')
})

t.test('a body that stops half-way (408): the half that arrived with the head is counted', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url], timeouts: { requestMs: 200 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  send(t, gw, `POST /up HTTP/1.1\r\nHost: a\r\nX-Request-Id: half\r\nContent-Length: 1000\r\n\r\n${'y'.repeat(500)}`)
  const line = await lineOf(gw, 'half')
  t.equal(line.status, 408)
  t.equal(line.error, 'request_timeout')
  t.equal(line.bytesIn, 500)
})

t.test('a client that leaves mid-upload (499): what it sent is counted', async (t) => {
  const sent = 100_000
  let upstreamHas = 0
  // takes the body as it streams and never answers: the client leaves first
  const { url } = await serveOnLoopback(t, (req) => { req.on('data', (chunk: Buffer) => { upstreamHas += chunk.length }) })
  const gw = await gateway(t, { pools: { p: { targets: [url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const client = send(t, gw, `POST /up HTTP/1.1\r\nHost: a\r\nX-Request-Id: left\r\nContent-Length: 200000\r\n\r\n${'z'.repeat(sent)}`)
  await waitFor(() => upstreamHas === sent)
  client.destroy()
  const line = await lineOf(gw, 'left')
  t.equal(line.status, 499)
  t.equal(line.aborted, true)
  t.equal(line.bytesIn, sent)
})
