// An upstream may answer (401, 413) before it has read the whole upload. Nothing reads the rest of that body for the
// request, so the answer must close the connection (RFC 9112 §9.3, RFC 9110 §15.5): it says Connection: close, the
// connection ends once it is out (not held paused until the keep-alive timeout), and the rest of the body is read
// and dropped meanwhile, so the client is not reset before it has read its answer.
import { connect, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway, type Tap } from './setup.ts'

const ANSWER = 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nunauthorized'

/** Answers every request at once, without reading its body; `closes`: then ends its connection too. */
async function answersAtOnce (t: Tap, closes: boolean): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => {
      socket.write(ANSWER)
      if (closes) socket.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A gateway in front of answersAtOnce(closes): one attempt, bodies streamed (none buffered for a retry). */
async function gatewayBefore (t: Tap, closes: boolean): Promise<Awaited<ReturnType<typeof gateway>>> {
  const up = await answersAtOnce(t, closes)
  return gateway(t, {
    pools: { p: { targets: [up], retry: { attempts: 1, maxBufferBytes: 0 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
}

function closedWithin (closed: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
  return Promise.race([closed.then(() => true), late]).finally(() => clearTimeout(timer))
}

for (const closes of [false, true]) {
  t.test(`an answer before the upload is all here closes the connection (upstream ${closes ? 'closes' : 'keeps'} its own)`, async (t) => {
    const gw = await gatewayBefore(t, closes)
    const client = rawConnection(t, Number(new URL(gw.url).port))
    await client.connected
    client.socket.write(`PUT /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${1024 * 1024}\r\n\r\n${'x'.repeat(16 * 1024)}`)
    // the client keeps sending its body after the answer, as one on a real network does
    const sending = setInterval(() => { if (client.socket.writable) client.socket.write('y'.repeat(16 * 1024)) }, 5)
    t.teardown(() => clearInterval(sending))
    t.ok(await closedWithin(client.closed, 3000), 'the connection closed after the answer (not held until the keep-alive timeout)')
    const head = client.received().split('\r\n\r\n')[0]!
    t.match(head, /^HTTP\/1\.1 401 /, 'the upstream\'s answer reached the client')
    t.match(head, /\r\nconnection: close(\r\n|$)/i, 'the answer said the connection closes')
    t.ok(client.received().endsWith('unauthorized'), 'the whole answer was read')
    t.equal(client.error(), undefined, 'closed, not reset')
  })
}

t.test('an answer before the upload is all here: the rest of a large body is read and dropped, and the connection ends cleanly', async (t) => {
  // more than the kernels on both sides and the gateway's buffers hold: unless the gateway reads and drops it, the
  // client's last bytes never leave it, and the lingering close resets the connection
  const BODY = 32 * 1024 * 1024
  const FIRST = 16 * 1024
  const gw = await gatewayBefore(t, false)
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  client.socket.write(`PUT /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${BODY}\r\n\r\n${'x'.repeat(FIRST)}`)
  await new Promise<void>((resolve) => {
    const check = (): void => { if (client.received().endsWith('unauthorized')) { client.socket.off('data', check); resolve() } }
    client.socket.on('data', check)
    check()
  })
  // the rest of the body, all of it, then the client's FIN
  client.socket.end(Buffer.alloc(BODY - FIRST, 'y'))
  await client.closed
  t.match(client.received(), /^HTTP\/1\.1 401 /, 'the upstream\'s answer reached the client')
  t.equal(client.error(), undefined, 'the whole body was taken: closed, not reset')
})

t.test('an answer before the upload is all here: a client that never closes its half is cut off after the linger', async (t) => {
  const gw = await gatewayBefore(t, false)
  const connections = (): Promise<number> => new Promise((resolve, reject) => gw.gateway.app.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
  const socket = connect({ port: Number(new URL(gw.url).port), host: '127.0.0.1', allowHalfOpen: true })
  t.teardown(() => socket.destroy())
  socket.on('error', () => {})
  let received = ''
  socket.on('data', (d: Buffer) => { received += d.toString('latin1') })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  // a body far larger than will ever be sent: the client goes on sending a little of it, and never sends its FIN
  socket.write(`PUT /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${1024 * 1024 * 1024}\r\n\r\n${'x'.repeat(1024)}`)
  const sending = setInterval(() => { if (socket.writable) socket.write('y'.repeat(1024)) }, 20)
  t.teardown(() => clearInterval(sending))
  await waitFor(() => received.endsWith('unauthorized'))
  t.match(received, /^HTTP\/1\.1 401 /, 'the upstream\'s answer reached the client')
  // not at the first second of silence (it never is silent) but at the linger's cap, 5 s after the answer
  await waitFor(async () => (await connections()) === 0, 10_000)
  t.equal(await connections(), 0, 'the gateway holds the connection no longer')
})
