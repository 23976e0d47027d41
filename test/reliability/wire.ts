// Raw bytes in, every response out, and whether the peer closed the connection: the view a smuggling test
// needs (node:http and fetch would fix the bytes, and stop at the first response).
import { connect } from 'node:net'
import { parseHeadText } from '../proxy/raw.ts'

export interface WireResponse {
  status: number
  /** Lower-cased names, repeated ones joined with ', '. */
  headers: Record<string, string>
  body: Buffer
}

export interface Conversation {
  responses: WireResponse[]
  /** The peer closed (or reset) the connection within the wait. */
  closed: boolean
  /** The peer reset the connection (ECONNRESET, or EPIPE: see the error handler) rather than closing it. */
  reset: boolean
  /** Bytes after the last complete response (a response cut short, or garbage). */
  trailing: Buffer
}

export interface ConverseOptions {
  /** Stop as soon as this many responses arrived, unless waitForClose (default 1). */
  responses?: number
  /** Keep reading until the peer closes or timeoutMs passes. */
  waitForClose?: boolean
  timeoutMs?: number
  /** Bytes written once the connection is open, in pieces with a pause between (slow clients). */
  pieces?: readonly (string | Buffer)[]
  pauseMs?: number
}

export function converse (port: number, bytes: string | Buffer, options: ConverseOptions = {}): Promise<Conversation> {
  const want = options.responses ?? 1
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    let closed = false
    let reset = false
    let done = false
    const timers: NodeJS.Timeout[] = []
    const finish = (): void => {
      if (done) return
      done = true
      for (const timer of timers) clearTimeout(timer)
      socket.destroy()
      const { responses, rest } = parseAll(buf, closed)
      resolve({ responses, closed, reset, trailing: rest })
    }
    timers.push(setTimeout(finish, options.timeoutMs ?? 3000))
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (!options.waitForClose && parseAll(buf, false).responses.length >= want) finish()
    })
    socket.on('end', () => { closed = true; finish() })
    socket.on('close', () => { closed = true; finish() })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      closed = true
      // a reset that arrives after the peer's FIN (CLOSE_WAIT) is reported by Linux as EPIPE, not ECONNRESET
      // (tcp_reset), and a write after any reset fails with EPIPE: both are the peer resetting the connection
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true
    })
    socket.write(bytes)
    let at = 0
    for (const piece of options.pieces ?? []) {
      at += options.pauseMs ?? 50
      timers.push(setTimeout(() => { if (!socket.destroyed) socket.write(piece) }, at))
    }
  })
}

const CRLF2 = Buffer.from('\r\n\r\n')

/** Every complete response at the start of `buf`; a body without a length runs to the close. */
export function parseAll (buf: Buffer, closed: boolean): { responses: WireResponse[]; rest: Buffer } {
  const responses: WireResponse[] = []
  let at = 0
  for (;;) {
    const parsed = parseOne(buf.subarray(at), closed)
    if (parsed === undefined) break
    responses.push(parsed.response)
    at += parsed.consumed
  }
  return { responses, rest: buf.subarray(at) }
}

function parseOne (buf: Buffer, closed: boolean): { response: WireResponse; consumed: number } | undefined {
  const end = buf.indexOf(CRLF2)
  if (end === -1) return undefined
  const head = parseHeadText(buf.subarray(0, end).toString('latin1'))
  if (head === undefined) return undefined
  const { status, headers } = head
  const start = end + 4
  if (status === 101 || status === 204 || status === 304) return { response: { status, headers, body: Buffer.alloc(0) }, consumed: start }
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    const parts: Buffer[] = []
    let at = start
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at)
      if (lineEnd === -1) return undefined
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16)
      if (Number.isNaN(size)) return undefined
      at = lineEnd + 2
      if (size === 0) {
        const trailerEnd = buf.indexOf(CRLF2, at - 2)
        if (trailerEnd === -1) return undefined
        return { response: { status, headers, body: Buffer.concat(parts) }, consumed: trailerEnd + 4 }
      }
      if (buf.length < at + size + 2) return undefined
      parts.push(buf.subarray(at, at + size))
      at += size + 2
    }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    if (buf.length < start + length) return undefined
    return { response: { status, headers, body: buf.subarray(start, start + length) }, consumed: start + length }
  }
  if (!closed) return undefined
  return { response: { status, headers, body: buf.subarray(start) }, consumed: buf.length }
}

/** A response body read as the gateway's JSON error ({ error, requestId }), if it is a JSON object. */
export function jsonErrorBody (body: Buffer): { error?: unknown; requestId?: unknown } | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined
  } catch {
    return undefined
  }
}
