// Where HTTP/1.1 responses end in a byte stream, for a client that must count them exactly (bench/counting-client.ts).
// Handles Content-Length and chunked bodies, the two framings a proxy answers with; anything else is an error,
// since a response that ends at close cannot be counted on a keep-alive connection.

export interface ParsedResponses {
  /** Status codes of the responses completed by the bytes fed so far, in order. */
  statuses: number[]
  /** Bytes not yet part of a complete response (kept for the next feed). */
  rest: Buffer
}

const CRLF2 = Buffer.from('\r\n\r\n')

/** Every response complete in `buffer`, and what is left over. Throws on bytes that are not an HTTP/1.1 response. */
export function parseResponses (buffer: Buffer): ParsedResponses {
  const statuses: number[] = []
  let at = 0
  for (;;) {
    const end = completeResponseEnd(buffer, at)
    if (end === undefined) break
    statuses.push(end.status)
    at = end.end
  }
  return { statuses, rest: buffer.subarray(at) }
}

function completeResponseEnd (buffer: Buffer, start: number): { status: number, end: number } | undefined {
  const headEnd = buffer.indexOf(CRLF2, start)
  if (headEnd < 0) return undefined
  const head = buffer.toString('latin1', start, headEnd)
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)
  if (!status) throw new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 80))}`)
  const bodyStart = headEnd + 4
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
  if (length) {
    const end = bodyStart + Number(length[1])
    return end <= buffer.length ? { status: Number(status[1]), end } : undefined
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
    const end = chunkedEnd(buffer, bodyStart)
    return end === undefined ? undefined : { status: Number(status[1]), end }
  }
  // 1xx, 204 and 304 have no body; nothing else may be framed by the connection's close here
  const code = Number(status[1])
  if (code < 200 || code === 204 || code === 304) return { status: code, end: bodyStart }
  throw new Error(`response ${code} has neither Content-Length nor chunked framing`)
}

/** Where a chunked body starting at `at` ends (after its trailers), or undefined if it has not all arrived. */
function chunkedEnd (buffer: Buffer, at: number): number | undefined {
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at)
    if (lineEnd < 0) return undefined
    const size = Number.parseInt(buffer.toString('latin1', at, lineEnd), 16)
    if (!Number.isFinite(size)) throw new Error('bad chunk size line')
    if (size === 0) {
      // the last chunk's line ends the body when an empty line follows it, or trailers and then an empty line
      const blank = buffer.indexOf(CRLF2, lineEnd)
      return blank < 0 ? undefined : blank + 4
    }
    const next = lineEnd + 2 + size + 2
    if (next > buffer.length) return undefined
    at = next
  }
}
