// The refusal the gateway writes after an answer it wrote at once with keep-alive (an OPTIONS with Max-Forwards: 0),
// for bytes that failed to parse in the same read (src/proxy/client-error.ts): the connection then closes with a
// lingering close. Pins the two halves of it the neighbouring test leaves open:
// - what the client sends after the refusal, in several writes while it is not reading, is read and dropped: the
//   client later reads both answers whole, with no reset;
// - a client still sending after the gateway's FIN (its side kept open) has what it sends read and dropped for a
//   while, no reset: the connection is not destroyed at once, nor by the parse failures those bytes cause again;
// - a client that keeps its side open after the gateway's FIN is cut after the linger (LINGER_MS of silence), not
//   left open until the keep-alive timeout.
// Real loopback servers on port 0; the gateway runs in this process.
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

async function setup (t: Test): Promise<{ port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/payment', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { port: Number(new URL(gw.url).port), u }
}

const FIRST = 'OPTIONS /payment HTTP/1.1\r\nHost: gw\r\nMax-Forwards: 0\r\n\r\n'
const DUPLICATE_LENGTH = 'GET /payment HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'
const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A client that keeps its half of the connection open: it sends an answer-at-once request and bytes that fail to
 * parse, and waits for the gateway's end after both answers. `error` is its socket error's code, if one comes.
 */
async function refusedHalfOpen (t: Test, port: number): Promise<{ socket: Socket; error: () => string | undefined }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  t.teardown(() => socket.destroy())
  let text = ''
  let error: string | undefined
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code })
  const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()))
  socket.write(FIRST + DUPLICATE_LENGTH)
  await ended
  t.strictSame(statuses(text), [200, 400], text)
  return { socket, error: () => error }
}

t.test('bytes sent in several writes after the refusal, by a client not reading: both answers arrive whole, no reset', async (t) => {
  const { port, u } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.pause()
  c.socket.write(FIRST + DUPLICATE_LENGTH)
  for (let i = 0; i < 3; i++) {
    await sleep(100)
    c.socket.write('GET /payment HTTP/1.1\r\nHost: gw\r\n\r\n')
  }
  await sleep(100)
  c.socket.resume()
  await c.closed
  t.strictSame(statuses(c.received()), [200, 400], c.received())
  t.equal(c.error(), undefined, 'closed without a reset')
  t.equal(u.requests.length, 0)
})

t.test('a client still sending after the refusal and the FIN: its bytes are read and dropped, no reset', async (t) => {
  const { port, u } = await setup(t)
  const { socket, error } = await refusedHalfOpen(t, port)
  // within the linger (each write is heard, and restarts its LINGER_MS)
  for (let i = 0; i < 5; i++) {
    socket.write('GET /payment HTTP/1.1\r\nHost: gw\r\n\r\n')
    await sleep(100)
  }
  t.equal(error(), undefined, 'no reset while the gateway lingers')
  t.equal(u.requests.length, 0)
})

t.test('a client that keeps its side open after the refusal is cut after the linger, not at the keep-alive timeout', async (t) => {
  const { port } = await setup(t)
  const { socket, error } = await refusedHalfOpen(t, port)
  // The client never ends its side. Past the linger (LINGER_MS, 1 s, of silence) the gateway has let the connection
  // go: what the client sends then finds no one (a reset), where a connection kept until the keep-alive timeout
  // would read it and drop it.
  // (the reset shows on the client's next write: it has stopped reading since the gateway's FIN)
  await sleep(2500)
  for (let i = 0; i < 10 && error() === undefined; i++) {
    socket.write('GET /payment HTTP/1.1\r\nHost: gw\r\n\r\n')
    await sleep(200)
  }
  t.ok(error() === 'ECONNRESET' || error() === 'EPIPE', `the late bytes found the connection closed (${error()})`)
})
