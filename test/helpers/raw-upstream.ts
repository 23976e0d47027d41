// An upstream written by hand on raw sockets, for answers no HTTP server would send: `answer` decides what each
// request on a connection gets, by its number on that connection (heads only: a request's body is not read).
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import type t from 'tap'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

export interface RawUpstream {
  readonly url: string
  /** Connections accepted so far. */
  connections (): number
}

export async function rawUpstream (t: Tap, answer: (socket: Socket, nth: number) => void): Promise<RawUpstream> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server = createServer((socket) => {
    sockets.add(socket)
    connections++
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let nth = 0
    let buffered = ''
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        buffered = buffered.slice(end + 4)
        answer(socket, ++nth)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections }
}
