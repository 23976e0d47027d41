// WebSocket (and other Upgrade) requests: routed like any request, then tunnelled byte for byte to one target.
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { ERRORS, type ErrorCode } from '../errors.ts'
import { normaliseRequestTarget } from '../routing/path.ts'
import { classifyError } from '../resilience/classify.ts'
import type { GatewayState } from './forward.ts'
import { keyExtractor } from './hash-key.ts'
import { buildUpstreamHeaders, clientAddress, isSaneRequestId, type IncomingFacts } from './headers.ts'

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
      socket.end(`HTTP/1.1 ${status} ${code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`)
      log(status, { error: code, ...extra })
    }
    const target = normaliseRequestTarget(req.url ?? '')
    if (target === undefined) return refuse('bad_path')
    const state = opts.state()
    const match = state.table.match(target.path, req.method ?? 'GET', facts.host)
    const runtime = match && state.pools.get(match.route.pool)
    if (match === undefined || runtime === undefined) return refuse('no_route')
    if (!runtime.breaker.allows()) return refuse('circuit_open')
    const upstream = runtime.pool.pick({ hashKey: keyExtractor(runtime.config.balancer)?.(req, clientIp) })
    if (upstream === undefined) return refuse('no_available_target', { pool: runtime.name })
    headers.push('host', runtime.config.preserveHost && facts.host !== undefined ? facts.host : upstream.host, 'x-request-id', requestId)
    const controller = new AbortController()
    const onEarlyClose = (): void => controller.abort()
    socket.once('close', onEarlyClose)
    upstream.inFlight++
    upstream.client.upgrade({
      path: match.upstreamPath + target.query,
      method: req.method ?? 'GET',
      headers,
      protocol: String(req.headers.upgrade ?? 'websocket'),
      signal: controller.signal,
    }).then(({ headers: upHeaders, socket: upSocket }) => {
      socket.off('close', onEarlyClose)
      if (socket.destroyed) {
        upSocket.destroy()
        upstream.inFlight--
        return
      }
      let head101 = 'HTTP/1.1 101 Switching Protocols\r\n'
      for (const [name, value] of Object.entries(upHeaders)) {
        for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) head101 += `${name}: ${v}\r\n`
      }
      socket.write(head101 + '\r\n')
      if (head.length > 0) upSocket.write(head)
      opts.tunnels.add(socket)
      let closed = false
      const close = (): void => {
        if (closed) return
        closed = true
        upstream.inFlight--
        opts.tunnels.delete(socket)
        socket.destroy()
        upSocket.destroy()
        log(101, { route: match.route.id, pool: runtime.name, target: upstream.url, attempts: 1, bytesIn: (socket as Socket).bytesRead, bytesOut: (socket as Socket).bytesWritten })
      }
      upSocket.on('error', close).on('close', close)
      socket.on('error', close).on('close', close)
      upSocket.pipe(socket)
      socket.pipe(upSocket)
    }, (err: unknown) => {
      socket.off('close', onEarlyClose)
      upstream.inFlight--
      if (socket.destroyed) return
      // undici rejects any answer other than 101 as 'bad upgrade': the target answered, it is not failing
      if ((err as Error).message === 'bad upgrade') return refuse('upstream_error', { pool: runtime.name, target: upstream.url })
      runtime.outlier.failure(upstream)
      refuse(classifyError(err) === 'timeout' ? 'upstream_timeout' : 'upstream_unreachable', { pool: runtime.name, target: upstream.url })
    })
  }
}
