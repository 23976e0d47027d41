// An upstream may answer (401, 413) before it has read the whole upload. Nothing reads the rest of that body for the
// request, so the answer must close the connection (RFC 9112 §9.3, RFC 9110 §15.5): it says Connection: close, the
// connection ends once it is out (not held paused until the keep-alive timeout), and the rest of the body is read
// and dropped meanwhile, so the client is not reset before it has read its answer.
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
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

function closedWithin (closed: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
  return Promise.race([closed.then(() => true), late]).finally(() => clearTimeout(timer))
}

for (const closes of [false, true]) {
  t.test(`an answer before the upload is all here closes the connection (upstream ${closes ? 'closes' : 'keeps'} its own)`, async (t) => {
    const up = await answersAtOnce(t, closes)
    const gw = await gateway(t, {
      pools: { p: { targets: [up], retry: { attempts: 1, maxBufferBytes: 0 } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
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
