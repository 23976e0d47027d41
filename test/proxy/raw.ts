// Raw-socket HTTP/1.1 for tests whose exact bytes matter: fetch() and node:http normalise
// request targets ('..', '%2e') and forbid hop-by-hop headers, so path attacks go through here.
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  status: number
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>
  body: Buffer
  json<T = Record<string, unknown>> (): T
}

interface Parsed { response: RawResponse; consumed: number }

const HEADER_END = Buffer.from('\r\n\r\n')

/** A status line and header lines (the text before the blank line); undefined when it is not an HTTP/1.x response. */
export function parseHeadText (text: string): { status: number; headers: Record<string, string> } | undefined {
  const lines = text.split('\r\n')
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines.shift() ?? '')
  if (match === null) return undefined
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon === -1) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  return { status: Number(match[1]), headers }
}

/** Parses a status line and headers from the start of `buf`; undefined until the blank line arrived. */
function parseHead (buf: Buffer): { status: number; headers: Record<string, string>; bodyStart: number } | undefined {
  const end = buf.indexOf(HEADER_END)
  if (end === -1) return undefined
  const text = buf.subarray(0, end).toString('latin1')
  const head = parseHeadText(text)
  if (head === undefined) throw new Error(`not an HTTP response: ${JSON.stringify(text.split('\r\n')[0])}`)
  return { ...head, bodyStart: end + HEADER_END.length }
}

function makeResponse (status: number, headers: Record<string, string>, body: Buffer): RawResponse {
  return { status, headers, body, json: <T>() => JSON.parse(body.toString('utf8')) as T }
}

/** Decodes a complete chunked body; undefined while incomplete. */
function decodeChunked (buf: Buffer): { body: Buffer; consumed: number } | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16)
    if (Number.isNaN(size)) throw new Error('bad chunk size')
    at = lineEnd + 2
    if (size === 0) {
      const trailerEnd = buf.indexOf(HEADER_END, at - 2)
      if (trailerEnd === -1) return undefined
      return { body: Buffer.concat(parts), consumed: trailerEnd + 4 }
    }
    if (buf.length < at + size + 2) return undefined
    parts.push(buf.subarray(at, at + size))
    at += size + 2
  }
}

/** A complete response at the start of `buf`, or undefined if more bytes are needed. `closed`: the peer ended. */
function parseResponse (buf: Buffer, closed: boolean): Parsed | undefined {
  const head = parseHead(buf)
  if (head === undefined) return undefined
  const { status, headers, bodyStart } = head
  const rest = buf.subarray(bodyStart)
  if (status === 101 || status === 204 || status === 304) {
    return { response: makeResponse(status, headers, Buffer.alloc(0)), consumed: bodyStart }
  }
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    const decoded = decodeChunked(rest)
    if (decoded === undefined) return undefined
    return { response: makeResponse(status, headers, decoded.body), consumed: bodyStart + decoded.consumed }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    if (rest.length < length) return undefined
    return { response: makeResponse(status, headers, rest.subarray(0, length)), consumed: bodyStart + length }
  }
  if (!closed) return undefined
  return { response: makeResponse(status, headers, rest), consumed: buf.length }
}

/**
 * Sends `bytes` exactly as given on a new connection and resolves with the first response.
 * Rejects if the connection closes without a complete response.
 */
export function rawRequest (port: number, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    let done = false
    const finish = (err: Error | undefined, res?: RawResponse): void => {
      if (done) return
      done = true
      socket.destroy()
      if (err !== undefined) reject(err)
      else resolve(res!)
    }
    const tryParse = (closed: boolean): void => {
      try {
        const parsed = parseResponse(buf, closed)
        if (parsed !== undefined) finish(undefined, parsed.response)
        else if (closed) finish(new Error(`connection closed without a complete response: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`))
      } catch (err) {
        finish(err as Error)
      }
    }
    socket.setTimeout(timeoutMs, () => finish(new Error('raw request timed out')))
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      tryParse(false)
    })
    socket.on('end', () => tryParse(true))
    socket.on('close', () => tryParse(true))
    socket.on('error', (err) => { if (buf.length === 0) finish(err) })
    socket.write(bytes)
  })
}

/** Sends `bytes` and collects everything received until the peer closes (or the timeout passes). */
export function rawExchange (port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      socket.destroy()
      resolve(Buffer.concat(chunks))
    }
    socket.setTimeout(timeoutMs, finish)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', finish)
    socket.on('error', finish)
    socket.write(bytes)
  })
}

export interface RawHandshake {
  response: RawResponse
  socket: Socket
  /** Bytes that arrived after the response head. */
  rest: Buffer
}

/** Sends `bytes` and resolves once a response head (and its body, if any) arrived, leaving the socket open. */
export function rawHandshake (port: number, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawHandshake> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    let done = false
    const timer = setTimeout(() => fail(new Error('handshake timed out')), timeoutMs)
    const fail = (err: Error): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      check(false)
    }
    const check = (closed: boolean): void => {
      if (done) return
      let parsed: Parsed | undefined
      try {
        parsed = parseResponse(buf, closed)
      } catch (err) {
        return fail(err as Error)
      }
      if (parsed === undefined) {
        if (closed) fail(new Error('connection closed during handshake'))
        return
      }
      done = true
      clearTimeout(timer)
      socket.off('data', onData)
      resolve({ response: parsed.response, socket, rest: buf.subarray(parsed.consumed) })
    }
    socket.on('data', onData)
    socket.once('end', () => check(true))
    socket.once('close', () => check(true))
    socket.on('error', (err) => fail(err))
    socket.write(bytes)
  })
}

/** Reads from `socket` until `length` bytes arrived (starting with `initial`). */
export function readBytes (socket: Socket, length: number, initial: Buffer = Buffer.alloc(0), timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = initial
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      if (buf.length >= length) {
        cleanup()
        resolve(buf)
      }
    }
    const onClose = (): void => {
      cleanup()
      reject(new Error(`socket closed after ${buf.length} of ${length} bytes`))
    }
    const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${buf.length} of ${length} bytes`)) }, timeoutMs)
    if (buf.length >= length) {
      cleanup()
      resolve(buf)
      return
    }
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

export function portOf (url: string): number {
  return Number(new URL(url).port)
}
