// The operator-chaos upstream: a real node:http server on 127.0.0.1 that can be killed (stops listening, drops
// every connection) and restarted on the same port, and that records what the invariants need: each request's
// arrival (when its headers came, its x-request-id), each health probe (when, which path), and its open sockets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Arrival {
  /** Date.now() when the request's headers arrived. */
  at: number
  id: string
  method: string
}

export class ChaosUpstream {
  readonly name: string
  readonly pool: string
  readonly server: Server
  readonly arrivals: Arrival[] = []
  /** Date.now() of every health probe. */
  readonly probes: number[] = []
  readonly #sockets = new Set<Socket>()
  port = 0
  alive = false
  /** Requests being answered now. */
  inFlight = 0

  private constructor (name: string, pool: string) {
    this.name = name
    this.pool = pool
    this.server = createServer((req, res) => this.#handle(req, res))
    this.server.keepAliveTimeout = 30_000
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  static async start (name: string, pool: string): Promise<ChaosUpstream> {
    const u = new ChaosUpstream(name, pool)
    await u.#listen(0)
    return u
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }
  get id (): string { return `127.0.0.1:${this.port}` }
  /** TCP connections open now (the gateway's traffic and probe connections). */
  get openSockets (): number { return this.#sockets.size }

  /** Stops listening and drops every connection: new connections are refused. */
  async kill (): Promise<void> {
    if (!this.alive) return
    this.alive = false
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    await closed
  }

  /** Listens again on the same port (retried a few times: the port was just released). */
  async restart (): Promise<void> {
    if (this.alive) return
    for (let i = 0; ; i++) {
      try {
        await this.#listen(this.port)
        return
      } catch (err) {
        if (i >= 20) throw err
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  }

  async close (): Promise<void> {
    await this.kill()
    for (const s of this.#sockets) s.destroy()
  }

  #listen (port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError)
        this.port = (this.server.address() as AddressInfo).port
        this.alive = true
        resolve()
      })
    })
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    if (String(req.headers['user-agent'] ?? '').startsWith('switchyard-health-check')) {
      this.probes.push(Date.now())
      req.resume()
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok')
      return
    }
    this.arrivals.push({ at: Date.now(), id: String(req.headers['x-request-id'] ?? ''), method: req.method ?? '' })
    this.inFlight++
    res.once('close', () => { this.inFlight-- })
    // the client asks for a delay (?d=ms): requests in flight while a drain or a kill lands
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('d') ?? 0)
    req.resume()
    req.once('end', () => {
      const answer = (): void => {
        if (res.destroyed) return
        const body = JSON.stringify({ name: this.name })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': this.name }).end(body)
      }
      if (delay > 0) setTimeout(answer, delay)
      else answer()
    })
  }
}
