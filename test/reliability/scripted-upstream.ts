// A raw `net` upstream that answers each request with bytes from a script: the malformed responses an
// HTTP server library would never write. Counts connections, so a test can tell a reused one from a new one.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/** Writes the answer to the n-th request (0-based, over all connections) on `socket`. */
export type Script = (socket: Socket, n: number) => void

export class ScriptedUpstream {
  readonly server: Server
  connections = 0
  requests = 0
  readonly #sockets = new Set<Socket>()
  port = 0

  private constructor (script: Script) {
    this.server = createServer((socket) => {
      this.connections++
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
      socket.on('error', () => {})
      let buf = ''
      socket.on('data', (chunk: Buffer) => {
        buf += chunk.toString('latin1')
        // requests without bodies: each head ends at a blank line
        let end: number
        while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
          buf = buf.slice(end + 4)
          script(socket, this.requests++)
        }
      })
    })
  }

  static async start (script: Script): Promise<ScriptedUpstream> {
    const u = new ScriptedUpstream(script)
    await new Promise<void>((resolve) => u.server.listen(0, '127.0.0.1', resolve))
    u.port = (u.server.address() as AddressInfo).port
    return u
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }

  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    await closed
  }
}
