// WebSocket upgrades: routed like any request, then tunnelled byte for byte to one target of the pool.
import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { ERRORS, type ErrorCode } from '../errors.ts'
import { normaliseRequestTarget } from '../routing/path.ts'
import { classifyError } from '../resilience/classify.ts'
import type { GatewayState } from './forward.ts'
import { buildUpstreamHeaders, clientAddress, isSaneRequestId, stripResponseHopByHop, type IncomingFacts, type ResponseHeaders } from './headers.ts'

export interface UpgradeOptions {
  state: () => GatewayState
  logger: Logger
  trustedProxies: readonly string[]
  /** Sockets being tunnelled, so shutdown can close them (the HTTP server does not track them). */
  tunnels: Set<Duplex>
}

export function createUpgradeHandler (opts: UpgradeOptions): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const trusted = new Set(opts.trustedProxies)
  return (req, socket, head) => {
    const startedAt = performance.now()
    socket.on('error', () => socket.destroy())
    const clientIp = clientAddress(req.socket.remoteAddress)
    const facts: IncomingFacts = { host: undefined, requestId: undefined, contentLength: undefined, chunked: false, idempotencyKey: false }
    const headers = buildUpstreamHeaders(req.rawHeaders, { clientIp, trusted: trusted.has(clientIp), proto: 'http' }, facts)
    const requestId = isSaneRequestId(facts.requestId) ? facts.requestId : randomUUID()
    const log = (status: number, extra: Record<string, unknown>): void => {
      opts.logger.info({ requestId, method: req.method, path: target?.path ?? req.url, status, upgrade: true, durationMs: Math.round(performance.now() - startedAt), ...extra }, 'request')
    }
    const refuse = (code: ErrorCode, extra: Record<string, unknown> = {}): void => {
      const body = JSON.stringify({ error: code, message: ERRORS[code].message, requestId })
      const status = ERRORS[code].status
      socket.end(`${statusLine(status, '')}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`)
      log(status, { error: code, ...extra })
    }
    const target = normaliseRequestTarget(req.url ?? '')
    if (target === undefined) return refuse('bad_path')
    const state = opts.state()
    const match = state.table.match(target.path, req.method ?? 'GET', facts.host)
    const runtime = match && state.pools.get(match.route.pool)
    if (match === undefined || runtime === undefined) return refuse('no_route')
    if (!runtime.breaker.allows()) return refuse('circuit_open')
    const upstream = runtime.pool.pick({ hashKey: runtime.hashKey?.(req, clientIp) })
    if (upstream === undefined) return refuse('no_available_target', { pool: runtime.name })
    headers.push('host', runtime.config.preserveHost && facts.host !== undefined ? facts.host : upstream.host, 'x-request-id', requestId)
    upstream.inFlight++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      upstream.inFlight--
    }
    let controller: Dispatcher.DispatchController | undefined
    let answered = 0
    const onEarlyClose = (): void => controller?.abort(new Error('client went away'))
    socket.once('close', onEarlyClose)
    const where = { pool: runtime.name, target: upstream.url }
    const tunnel = (upHeaders: IncomingHttpHeaders, upSocket: Duplex): void => {
      socket.off('close', onEarlyClose)
      if (socket.destroyed) {
        upSocket.destroy()
        release()
        return
      }
      socket.write(statusLine(101, 'Switching Protocols') + headerLines(upHeaders) + '\r\n')
      if (head.length > 0) upSocket.write(head)
      opts.tunnels.add(socket)
      let closed = false
      const close = (): void => {
        if (closed) return
        closed = true
        release()
        opts.tunnels.delete(socket)
        socket.destroy()
        upSocket.destroy()
        log(101, { route: match.route.id, ...where, attempts: 1, bytesIn: (socket as Socket).bytesRead, bytesOut: (socket as Socket).bytesWritten })
      }
      upSocket.on('error', close).on('close', close)
      socket.on('error', close).on('close', close)
      upSocket.pipe(socket)
      socket.pipe(upSocket)
    }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart (c) {
        controller = c
        if (socket.destroyed) c.abort(new Error('client went away'))
      },
      onRequestUpgrade (_c, _status, upHeaders, upSocket) { tunnel(upHeaders, upSocket) },
      // The target declined the upgrade (401, 403, 426…): its answer is the client's, then the connection closes.
      onResponseStart (_c, statusCode, upHeaders, statusMessage) {
        answered = statusCode
        const out = stripResponseHopByHop({ ...upHeaders })
        out.connection = 'close'
        out['x-request-id'] = requestId
        // without a length the body runs to the close of the connection
        if (out['content-length'] === undefined) delete out['transfer-encoding']
        socket.write(statusLine(statusCode, statusMessage ?? '') + headerLines(out) + '\r\n')
      },
      onResponseData (_c, chunk) { socket.write(chunk) },
      onResponseEnd () {
        socket.off('close', onEarlyClose)
        release()
        socket.end()
        log(answered, { ...where, upstreamDeclinedUpgrade: true })
      },
      onResponseError (_c, err) {
        socket.off('close', onEarlyClose)
        release()
        if (socket.destroyed) return
        if (answered !== 0) {
          socket.destroy()
          return
        }
        runtime.outlier.failure(upstream)
        refuse(classifyError(err) === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable', where)
      },
    }
    upstream.client.dispatch({
      path: match.upstreamPath + target.query,
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers,
      upgrade: String(req.headers.upgrade ?? 'websocket'),
      ...(upstream.servername !== undefined ? { servername: upstream.servername } : {}),
    } as Dispatcher.DispatchOptions, handler)
  }
}

function statusLine (status: number, message: string): string {
  return `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`
}

function headerLines (headers: IncomingHttpHeaders | ResponseHeaders): string {
  let out = ''
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) out += `${name}: ${v}\r\n`
  }
  return out
}
