// Reads a Server-Sent Events response over a real socket and keeps every frame, parsed, for assertions.
import { request, type IncomingMessage } from 'node:http'

export interface Frame {
  /** 'comment' for `: …` lines (heartbeats), 'retry' for a retry field, else the event name. */
  kind: string
  data?: unknown
  text: string
}

export interface SseClient {
  status: number
  headers: IncomingMessage['headers']
  frames: Frame[]
  /** Frames of one kind. */
  of (kind: string): Frame[]
  /** Resolves once `count` frames of `kind` arrived (rejects after timeoutMs). */
  waitFor (kind: string, count: number, timeoutMs?: number): Promise<Frame[]>
  ended: Promise<void>
  /** Stops reading the socket (a watcher that stopped consuming). */
  pause (): void
  /** Reads again after pause(). */
  resume (): void
  close (): void
}

export function connectSse (url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const frames: Frame[] = []
      let buffer = ''
      let endedResolve: () => void = () => {}
      const ended = new Promise<void>((r) => { endedResolve = r })
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          frames.push(...parse(buffer.slice(0, end)))
          buffer = buffer.slice(end + 2)
        }
      })
      res.on('end', endedResolve)
      res.on('close', endedResolve)
      res.on('error', () => {})
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        ended,
        of: (kind) => frames.filter((f) => f.kind === kind),
        waitFor: async (kind, count, timeoutMs = 3000) => {
          const until = Date.now() + timeoutMs
          while (client.of(kind).length < count) {
            if (Date.now() > until) throw new Error(`${count} '${kind}' frames expected, ${client.of(kind).length} arrived`)
            await new Promise((r) => setTimeout(r, 5))
          }
          return client.of(kind)
        },
        pause: () => { res.pause(); res.socket.pause() },
        resume: () => { res.socket.resume(); res.resume() },
        close: () => { req.destroy() },
      }
      resolve(client)
    })
    req.on('error', reject)
    req.end()
  })
}

function parse (block: string): Frame[] {
  const out: Frame[] = []
  let event: string | undefined
  let data: string | undefined
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) out.push({ kind: 'comment', text: line.slice(1).trim() })
    else if (line.startsWith('retry:')) out.push({ kind: 'retry', text: line.slice(6).trim() })
    else if (line.startsWith('event:')) event = line.slice(6).trim()
    else if (line.startsWith('data:')) data = (data === undefined ? '' : `${data}\n`) + line.slice(5).trimStart()
  }
  if (data !== undefined) out.push({ kind: event ?? 'message', text: data, data: JSON.parse(data) })
  return out
}
