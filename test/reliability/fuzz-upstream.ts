// A raw `net` upstream for the upstream fuzz test: it answers each request with the bytes a generated response spec
// renders to (upstream-grammar.ts), looked up by the request's X-Fuzz-Tag and attempt number, played in timed writes.
// It logs what reached it, and every request sent on a connection whose last response must have closed it.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { UpstreamLog } from './upstream-fuzz-check.ts'
import { CLEAN, render, verdict, type Method, type ResponseSpec } from './upstream-grammar.ts'

export const TAG_HEADER = 'x-fuzz-tag'

interface Conn {
  socket: Socket
  last: { what: string; why: string; known: string | undefined } | undefined
  /** Requests it has carried. */
  served: number
}

export class FuzzUpstream {
  readonly server: Server
  port = 0
  readonly #scripts = new Map<string, readonly ResponseSpec[]>()
  readonly #attempts = new Map<string, number>()
  readonly #requestIds = new Map<string, string[]>()
  readonly #kept = new Map<string, boolean[]>()
  readonly #reused: { tag: string; after: string; why: string; known: string | undefined }[] = []
  readonly #sockets = new Set<Socket>()
  /** Resolves once the gateway has read the head of `tag`'s answer to `attempt` (0-based): a reset then loses no head. */
  gate: (tag: string, attempt: number) => Promise<void> = () => Promise.resolve()

  private constructor () {
    this.server = createServer((socket) => {
      const conn: Conn = { socket, last: undefined, served: 0 }
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
      socket.on('error', () => {})
      let buf = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk])
        for (;;) {
          const end = buf.indexOf('\r\n\r\n')
          if (end === -1) return
          const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
          const headers = new Map<string, string>()
          for (const line of lines.slice(1)) {
            const colon = line.indexOf(':')
            headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
          }
          const length = Number(headers.get('content-length') ?? 0)
          if (buf.length < end + 4 + length) return
          buf = buf.subarray(end + 4 + length)
          this.#answer(conn, lines[0]!.split(' ')[0] as Method, headers)
        }
      })
    })
  }

  static async start (): Promise<FuzzUpstream> {
    const u = new FuzzUpstream()
    await new Promise<void>((resolve) => u.server.listen(0, '127.0.0.1', resolve))
    u.port = (u.server.address() as AddressInfo).port
    return u
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }

  /** The answers to `tag`'s attempts, in order (CLEAN past the list). */
  script (tag: string, answers: readonly ResponseSpec[]): void { this.#scripts.set(tag, answers) }

  /** What reached the upstream for these tags (and the reuse violations since the last call). */
  take (tags: readonly string[]): UpstreamLog {
    const log: UpstreamLog = {
      attempts: new Map(tags.map((t) => [t, this.#attempts.get(t) ?? 0])),
      requestIds: new Map(tags.map((t) => [t, this.#requestIds.get(t) ?? []])),
      reused: this.#reused.splice(0),
      onKeptConnection: new Map(tags.map((t) => [t, this.#kept.get(t) ?? []])),
    }
    for (const t of tags) {
      this.#scripts.delete(t)
      this.#attempts.delete(t)
      this.#requestIds.delete(t)
      this.#kept.delete(t)
    }
    return log
  }

  #answer (conn: Conn, method: Method, headers: Map<string, string>): void {
    const tag = headers.get(TAG_HEADER) ?? 'untagged'
    if (conn.last !== undefined) this.#reused.push({ tag, after: conn.last.what, why: conn.last.why, known: conn.last.known })
    const attempt = this.#attempts.get(tag) ?? 0
    this.#attempts.set(tag, attempt + 1)
    this.#requestIds.set(tag, [...(this.#requestIds.get(tag) ?? []), headers.get('x-request-id') ?? ''])
    this.#kept.set(tag, [...(this.#kept.get(tag) ?? []), conn.served++ > 0])
    const spec = this.#scripts.get(tag)?.[attempt] ?? CLEAN
    const v = verdict(spec, method, tag, attempt)
    conn.last = v.reusable ? undefined : { what: `${tag} attempt ${attempt + 1} (${method}, ${v.kind})`, why: `${v.notes.join(', ')}: ${JSON.stringify(spec)}`, known: v.known }
    void play(conn.socket, render(spec, method, tag, attempt), () => this.gate(tag, attempt))
  }

  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    await closed
  }
}

async function play (socket: Socket, plan: ReturnType<typeof render>, gate: () => Promise<void>): Promise<void> {
  for (const segment of plan.segments) {
    if (segment.delayMs > 0) await sleep(segment.delayMs)
    if (socket.destroyed) return
    socket.write(segment.bytes)
  }
  if (plan.ending === 'fin') socket.end()
  else if (plan.ending === 'reset' && !socket.destroyed) {
    // after what was written has been read: an RST can discard data still unread
    await new Promise<void>((resolve) => socket.write('', () => resolve()))
    await sleep(15)
    if (plan.resetAfterHead) await gate()
    if (!socket.destroyed) socket.resetAndDestroy()
  }
}
