// An upstream that counts: every request its parser saw (a smuggled one would show up here as a second
// request), every connection, and every byte stream it could not parse. Real node:http on 127.0.0.1, port 0.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  /** [name, value, …] exactly as the upstream's parser read them. */
  rawHeaders: string[]
  body: Buffer
}

export class CountingUpstream {
  readonly server: Server
  readonly requests: SeenRequest[] = []
  /** Connections accepted (the gateway's pool reuses them; a broken response must not be reused). */
  connections = 0
  /** Byte streams the upstream's parser refused (400 from the upstream itself). */
  parseErrors = 0
  /** Parser error codes, truncations (a request cut short by its sender) included. */
  readonly errorCodes: string[] = []
  /** Delay before answering, in ms (slow upstreams for abort tests). */
  delayMs = 0
  /** Requests whose client went away before the answer was written. */
  aborted = 0
  /** When each of them went away (performance.now()). */
  readonly abortedAt: number[] = []
  readonly #sockets = new Set<Socket>()
  port = 0

  private constructor () {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.once('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) })
        const answer = (): void => {
          if (res.destroyed) return
          const body = JSON.stringify({ method: req.method, url: req.url, rawHeaders: req.rawHeaders })
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
        }
        if (this.delayMs > 0) {
          const timer = setTimeout(answer, this.delayMs)
          res.once('close', () => {
            if (!res.writableFinished) {
              this.aborted++
              this.abortedAt.push(performance.now())
              clearTimeout(timer)
            }
          })
        } else {
          answer()
        }
      })
    })
    this.server.on('connection', (socket: Socket) => {
      this.connections++
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.errorCodes.push(err.code ?? 'unknown')
      // a request cut short (the gateway aborted its upload) is not a parse error: its bytes were valid so far
      if (err.code !== 'HPE_INVALID_EOF_STATE' && err.code !== 'ECONNRESET') this.parseErrors++
      socket.destroy()
    })
  }

  static async start (): Promise<CountingUpstream> {
    const u = new CountingUpstream()
    await new Promise<void>((resolve) => u.server.listen(0, '127.0.0.1', resolve))
    u.port = (u.server.address() as AddressInfo).port
    return u
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }

  /** Forgets what was seen (between cases sharing one upstream). */
  reset (): void {
    this.requests.length = 0
    this.parseErrors = 0
    this.errorCodes.length = 0
    this.aborted = 0
    this.abortedAt.length = 0
  }

  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    await closed
  }
}
