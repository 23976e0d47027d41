// One access-log line per request, written when the client's response closes.
import type { Logger } from 'pino'
import type { Exchange } from './exchange.ts'

export function logExchange (logger: Logger, ex: Exchange): void {
  const { res, req } = ex
  const last = ex.tried.length > 0 ? ex.tried[ex.tried.length - 1] : undefined
  logger.info({
    requestId: ex.requestId,
    method: ex.method,
    path: ex.path || req.url,
    route: ex.route?.id,
    pool: ex.pool?.name,
    target: last?.url,
    status: res.headersSent ? res.statusCode : 499,
    durationMs: Math.round((performance.now() - ex.startedAt) * 100) / 100,
    bytesIn: requestBodyBytes(ex),
    bytesOut: ex.socket.bytesWritten - ex.bytesWrittenAtStart,
    attempts: ex.attempts,
    targets: ex.tried.length > 1 ? ex.tried.map((t) => t.url) : undefined,
    error: ex.errorCode,
    aborted: ex.clientGone || undefined,
  }, 'request')
}

/** Body bytes received: exact when buffered or length-delimited, wire bytes (with chunk framing) when chunked. */
function requestBodyBytes (ex: Exchange): number {
  if (Buffer.isBuffer(ex.body)) return ex.body.length
  if (ex.contentLength !== undefined && ex.req.complete) return ex.contentLength
  return ex.socket.bytesRead - ex.bytesReadAtStart
}
