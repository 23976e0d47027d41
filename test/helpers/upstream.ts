// One scriptable upstream for every test: a real HTTP server on 127.0.0.1, port 0.
// It can answer (echoing what it received), fail N times, hang, reset mid-body or before answering,
// refuse connections, report unhealthy, stream N bytes, count an upload, and accept WebSocket upgrades.
import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'

export interface RecordedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  bodyBytes: number
}

export interface Echo {
  name: string
  method: string
  url: string
  headers: IncomingHttpHeaders
  bodyBytes: number
}

export type Mode = 'answer' | 'hang' | 'reset-before-response' | 'reset-mid-body'

export interface UpstreamOptions {
  name?: string
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string }
  /** Bind this port instead of an ephemeral one (used to bring a refused target back on its old port). */
  port?: number
}

export class TestUpstream {
  readonly name: string
  readonly server: Server
  readonly requests: RecordedRequest[] = []
  /** The upstream ends of WebSocket tunnels still open (each echoes what it receives). */
  readonly tunnels = new Set<Socket>()
  readonly #sockets = new Set<Socket>()
  readonly #delayed = new Set<NodeJS.Timeout>()
  port = 0
  mode: Mode = 'answer'
  /** The next N requests (health probes excluded) answer with failStatus. */
  failCount = 0
  failStatus = 503
  failHeaders: Record<string, string> = {}
  /** Extra headers on /health answers (e.g. x-replication-lag-ms). */
  healthHeaders: Record<string, string> = {}
  /** When set, /health answers JSON { status, replicationLagMs } (a replica reporting its lag in the body). */
  replicationLagMs: number | undefined = undefined
  /** /health answers 503 while true. */
  unhealthy = false
  /** Delay before answering, in ms. */
  delayMs = 0
  healthChecks = 0
  /** Extra response headers for normal answers. */
  responseHeaders: Record<string, string | string[]> = {}
  readonly #protocol: 'http' | 'https'

  private constructor (options: UpstreamOptions) {
    this.name = options.name ?? 'upstream'
    this.#protocol = options.tls ? 'https' : 'http'
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res)
    this.server = options.tls ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createServer(handler)
    this.server.keepAliveTimeout = 30_000
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
    this.server.on('secureConnection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head))
  }

  static async start (options: UpstreamOptions = {}): Promise<TestUpstream> {
    const upstream = new TestUpstream(options)
    await upstream.listen(options.port ?? 0)
    return upstream
  }

  get url (): string { return `${this.#protocol}://127.0.0.1:${this.port}` }

  /** Requests other than health probes. */
  get hits (): number { return this.requests.length }

  listen (port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject)
        this.port = (this.server.address() as AddressInfo).port
        resolve()
      })
    })
  }

  /** Stops listening and drops every connection: new connections are refused. */
  async refuse (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    await closed
  }

  /** Listens again on the same port after refuse(). */
  restore (): Promise<void> { return this.listen(this.port) }

  async close (): Promise<void> {
    // an answer still delayed would hold the test's process open for the rest of delayMs
    for (const timer of this.#delayed) clearTimeout(timer)
    this.#delayed.clear()
    if (!this.server.listening) {
      for (const s of this.#sockets) s.destroy()
      return
    }
    await this.refuse()
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/health') {
      this.healthChecks++
      req.resume()
      const status = this.unhealthy ? 503 : 200
      if (this.replicationLagMs !== undefined) {
        const body = JSON.stringify({ status: this.unhealthy ? 'unhealthy' : 'ok', replicationLagMs: this.replicationLagMs })
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...this.healthHeaders }).end(body)
        return
      }
      res.writeHead(status, { 'content-type': 'text/plain', ...this.healthHeaders }).end(this.unhealthy ? 'unhealthy' : 'ok')
      return
    }
    let bodyBytes = 0
    req.on('data', (chunk: Buffer) => { bodyBytes += chunk.length })
    req.once('end', () => {
      const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes }
      this.requests.push(record)
      const answer = (): void => this.#answer(req, res, url, record)
      if (this.delayMs === 0) return answer()
      const timer = setTimeout(() => { this.#delayed.delete(timer); answer() }, this.delayMs)
      this.#delayed.add(timer)
    })
  }

  #answer (req: IncomingMessage, res: ServerResponse, url: URL, record: RecordedRequest): void {
    if (this.mode === 'hang') return
    if (this.mode === 'reset-before-response') {
      req.socket.destroy()
      return
    }
    if (this.failCount > 0) {
      this.failCount--
      res.writeHead(this.failStatus, { 'content-type': 'text/plain', ...this.failHeaders }).end(`${this.name} failing`)
      return
    }
    const download = url.searchParams.get('bytes')
    if (download !== null) return this.#stream(res, Number(download))
    if (this.mode === 'reset-mid-body') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' })
      res.write(Buffer.alloc(1000, 'x'), () => setImmediate(() => req.socket.destroy()))
      return
    }
    const status = Number(url.searchParams.get('status') ?? 200)
    const echo: Echo = { name: this.name, method: record.method, url: record.url, headers: record.headers, bodyBytes: record.bodyBytes }
    const body = JSON.stringify(echo)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': this.name, ...this.responseHeaders })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  /** Streams `total` bytes with backpressure, never holding more than one chunk. */
  #stream (res: ServerResponse, total: number): void {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total), 'x-upstream': this.name })
    const chunk = Buffer.alloc(64 * 1024, 'z')
    let sent = 0
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent)
        sent += n
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump)
          return
        }
      }
      res.end()
    }
    pump()
  }

  #upgrade (req: IncomingMessage, socket: Socket, head: Buffer): void {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0 })
    const key = req.headers['sec-websocket-key']
    const accept = key ? createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC11B5B').digest('base64') : ''
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\nx-upstream: ${this.name}\r\n\r\n`)
    if (head.length > 0) socket.write(head)
    this.tunnels.add(socket)
    socket.once('close', () => this.tunnels.delete(socket))
    // echo every byte back: the gateway only tunnels, so raw bytes are enough to prove the path
    socket.pipe(socket)
  }
}

/** Starts `count` upstreams named `${prefix}1…`. */
export async function startUpstreams (count: number, prefix = 'u'): Promise<TestUpstream[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => TestUpstream.start({ name: `${prefix}${i + 1}` })))
}
