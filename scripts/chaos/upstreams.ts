// Loopback upstreams for the chaos run, in this process so a step can kill one and bring it back on its port.
// Each answers with `x-upstream: NAME` (how a check knows who served a request), reports its replication lag on
// /health when given one, answers mirror copies as the run's mirror mode says, and echoes WebSocket messages.
import { createHash } from 'node:crypto'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createServer } from './http.ts'

export type MirrorMode = 'ok' | 'hang' | 'fail' | 'reset'

export interface MirrorCopy { at: number; name: string; method: string; url: string; bytes: number; expect: number }

/** What every upstream of a run shares: the clock, how mirror copies are answered, and the copies seen. */
export interface Shared {
  now: () => number
  mirrorMode: MirrorMode
  readonly mirrorSeen: MirrorCopy[]
}

export class Upstream {
  readonly name: string
  readonly #server: Server
  readonly #shared: Shared
  readonly #sockets = new Set<Socket>()
  port = 0
  up = false
  /** Reported on /health as x-replication-lag-ms; undefined reports none. */
  lagMs: number | undefined = undefined

  private constructor (name: string, shared: Shared) {
    this.name = name
    this.#shared = shared
    this.#server = createServer((req, res) => this.#handle(req, res))
    this.#server.keepAliveTimeout = 60_000
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head))
  }

  static async start (name: string, shared: Shared): Promise<Upstream> {
    const upstream = new Upstream(name, shared)
    await upstream.#listen(0)
    return upstream
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }
  /** Connections open to it now (the gateway's, since nothing else calls it). */
  get openConnections (): number { return this.#sockets.size }

  /** Killed: every connection reset, the port refuses. */
  async kill (): Promise<void> {
    this.up = false
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const socket of this.#sockets) socket.destroy()
    await closed
  }

  /** Back on its old port. */
  restart (): Promise<void> { return this.#listen(this.port) }

  async close (): Promise<void> { if (this.up) await this.kill() }

  #listen (port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject)
        this.port = (this.#server.address() as AddressInfo).port
        this.up = true
        resolve()
      })
    })
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    let bytes = 0
    req.on('data', (chunk: Buffer) => { bytes += chunk.length })
    req.once('end', () => {
      const url = req.url ?? '/'
      if (url.startsWith('/health')) {
        if (this.lagMs !== undefined) res.setHeader('x-replication-lag-ms', String(this.lagMs))
        res.end('ok')
        return
      }
      if (req.headers['x-switchyard-mirror'] !== undefined) {
        const shared = this.#shared
        shared.mirrorSeen.push({ at: shared.now(), name: this.name, method: req.method ?? '', url, bytes, expect: Number(req.headers['x-body-len'] ?? -1) })
        if (shared.mirrorMode === 'hang') return
        if (shared.mirrorMode === 'fail') { res.statusCode = 500; res.end('mirror fails'); return }
        if (shared.mirrorMode === 'reset') { req.socket.destroy(); return }
      }
      const delay = url.includes('slow') ? 300 + Math.floor(Math.random() * 900) : Math.floor(Math.random() * 20)
      setTimeout(() => {
        res.setHeader('x-upstream', this.name)
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ name: this.name, method: req.method, url, bytes }))
      }, delay)
    })
  }

  /** A WebSocket server just big enough for the echo: each text message comes back as `NAME:message`. */
  #upgrade (req: IncomingMessage, socket: Socket, head: Buffer): void {
    const key = req.headers['sec-websocket-key'] ?? ''
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\nx-upstream: ${this.name}\r\n\r\n`)
    let buffered = head
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      for (;;) {
        const frame = readFrame(buffered)
        if (frame === undefined) return
        buffered = buffered.subarray(frame.length)
        if (frame.opcode === 0x8) { socket.end(writeFrame(0x8, frame.payload)); return }
        if (frame.opcode === 0x9) socket.write(writeFrame(0xA, frame.payload))
        else if (frame.opcode === 0x1 || frame.opcode === 0x2) socket.write(writeFrame(0x1, Buffer.from(`${this.name}:${frame.payload.toString()}`)))
      }
    }
    socket.on('data', onData)
    socket.on('error', () => socket.destroy())
    // the gateway ends the tunnel when its client leaves: end ours too (the server allows half-open sockets)
    socket.on('end', () => socket.end())
    if (head.length > 0) onData(Buffer.alloc(0))
  }
}

/** One client frame (always masked) from the front of `b`, or undefined while it is incomplete. */
function readFrame (b: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (b.length < 2) return undefined
  let len = b[1]! & 0x7f
  let at = 2
  if (len === 126) { if (b.length < 4) return undefined; len = b.readUInt16BE(2); at = 4 } else if (len === 127) { if (b.length < 10) return undefined; len = Number(b.readBigUInt64BE(2)); at = 10 }
  const masked = (b[1]! & 0x80) !== 0
  const mask = masked ? b.subarray(at, at + 4) : undefined
  if (masked) at += 4
  if (b.length < at + len) return undefined
  const payload = Buffer.from(b.subarray(at, at + len))
  if (mask !== undefined) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!
  return { opcode: b[0]! & 0x0f, payload, length: at + len }
}

function writeFrame (opcode: number, payload: Buffer): Buffer {
  const header = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff])
  return Buffer.concat([header, payload])
}
