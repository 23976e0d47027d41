// The upstream the stress scripts run, in the load driver's process (scripts/slow-clients.ts) or in its own
// (scripts/stress/upstream-child.ts, for scripts/aborts.ts); `now` is the clock its timestamps are read from.
// GET /slow/<id> answers after slowMs and records, per id, when the request arrived and when the gateway closed
// it (an abort); GET /bytes/<n>?id=<id> streams n bytes with backpressure and records when the gateway closed it
// early; anything else reads the body and answers a small 200.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export class StressUpstream {
  readonly server: Server
  port = 0
  /** How long /slow/<id> waits before answering. */
  slowMs = 2000
  /** now() when each /slow request arrived, by id. */
  readonly arrived = new Map<string, number>()
  /** now() when the gateway closed a /slow or /bytes request before it was answered, by id. */
  readonly closed = new Map<string, number>()
  /** /slow requests answered in full (the gateway did not abort them). */
  slowAnswered = 0
  readonly #sockets = new Set<Socket>()
  readonly #now: () => number

  private constructor (now: () => number) {
    this.#now = now
    this.server = createServer((req, res) => this.#handle(req, res))
    this.server.keepAliveTimeout = 30_000
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  static async start (now: () => number = () => performance.now()): Promise<StressUpstream> {
    const u = new StressUpstream(now)
    // as deep an accept queue as the gateway's (server.backlog): a full one would delay the gateway's connections
    // by SYN-ACK retransmissions, and this process also runs the load
    await new Promise<void>((resolve) => u.server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve))
    u.port = (u.server.address() as AddressInfo).port
    return u
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }

  get openSockets (): number { return this.#sockets.size }

  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    await closed
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/'
    if (url.startsWith('/slow/')) return this.#slow(url.slice('/slow/'.length), req, res)
    if (url.startsWith('/bytes/')) {
      const u = new URL(url, 'http://x')
      return this.#stream(Number(u.pathname.slice('/bytes/'.length)), u.searchParams.get('id') ?? '', res)
    }
    req.resume()
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok')
    })
  }

  #slow (id: string, req: IncomingMessage, res: ServerResponse): void {
    this.arrived.set(id, this.#now())
    req.resume()
    const timer = setTimeout(() => {
      this.slowAnswered++
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '4' }).end('late')
    }, this.slowMs)
    res.once('close', () => {
      if (res.writableFinished) return
      clearTimeout(timer)
      this.closed.set(id, this.#now())
    })
  }

  /** Streams `total` bytes with backpressure, never holding more than one chunk. */
  #stream (total: number, id: string, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) })
    const chunk = Buffer.alloc(64 * 1024, 'z')
    let sent = 0
    res.once('close', () => { if (!res.writableFinished && id !== '') this.closed.set(id, this.#now()) })
    const pump = (): void => {
      while (sent < total && !res.destroyed) {
        const n = Math.min(chunk.length, total - sent)
        sent += n
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump)
          return
        }
      }
      if (!res.destroyed) res.end()
    }
    pump()
  }
}
