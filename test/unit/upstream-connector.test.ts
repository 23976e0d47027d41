// The upstream connector marks a connection's reset while its 'error' event is handled (so an attempt ending in it
// knows the end was a reset), and only then: the mark is gone once the event is over.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { resetAwareConnector, upstreamReset } from '../../src/upstream/connector.ts'

t.test('a reset is visible to listeners that run after the connector\'s, for that event only', async (t) => {
  // reset once the client has written, so the connection opens first
  const server = createServer((socket) => { socket.once('data', () => socket.resetAndDestroy()) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const port = (server.address() as { port: number }).port
  const connect = resetAwareConnector({ timeout: 2000 })
  const socket = await new Promise<Socket>((resolve, reject) => {
    connect({ hostname: '127.0.0.1', host: `127.0.0.1:${port}`, protocol: 'http:', port: String(port) }, (err, s) => err === null ? resolve(s as Socket) : reject(err))
  })
  t.equal(upstreamReset(), undefined, 'nothing marked before')
  const seen = await new Promise<{ during: Error | undefined; code: string | undefined }>((resolve) => {
    // as undici's own listener: added after the connector's
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ during: upstreamReset(), code: err.code }))
    socket.resume()
    socket.write('x')
  })
  t.equal(seen.code, 'ECONNRESET')
  t.equal((seen.during as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET', 'marked while the event is handled')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(upstreamReset(), undefined, 'and not after it')
})

t.test('a connection that fails to open is passed on as undici expects', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const connect = resetAwareConnector({ timeout: 2000 })
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
    connect({ hostname: '127.0.0.1', host: `127.0.0.1:${port}`, protocol: 'http:', port: String(port) }, (e, _socket) => resolve(e as NodeJS.ErrnoException))
  })
  t.equal(err.code, 'ECONNREFUSED')
})
