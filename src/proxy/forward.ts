// The hot path: route → pick → forward → stream back, with retries, breaker and outlier accounting.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { isBreakerRejection, UpstreamFailure } from '../resilience/breaker.ts'
import { GatewayError, ERRORS, type ErrorCode } from '../errors.ts'
import { normaliseRequestTarget } from '../routing/path.ts'
import type { RoutingTable } from '../routing/table.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import { sendAttempt, type AttemptResult } from './attempt.ts'
import { Exchange } from './exchange.ts'
import { buildUpstreamHeaders, clientAddress, isSaneRequestId, type IncomingFacts } from './headers.ts'

/** What the proxy routes with; swapped whole on reload. */
export interface GatewayState {
  readonly table: RoutingTable
  readonly pools: ReadonlyMap<string, PoolRuntime>
}

export interface ProxyOptions {
  logger: Logger
  trustedProxies: readonly string[]
  proto?: 'http' | 'https'
}

export class ProxyHandler {
  #state: GatewayState
  readonly #logger: Logger
  readonly #trusted: ReadonlySet<string>
  readonly #proto: 'http' | 'https'

  constructor (state: GatewayState, options: ProxyOptions) {
    this.#state = state
    this.#logger = options.logger
    this.#trusted = new Set(options.trustedProxies)
    this.#proto = options.proto ?? 'http'
  }

  get state (): GatewayState { return this.#state }
  /** Atomically replaces routes and pools; requests already in flight keep what they started with. */
  setState (state: GatewayState): void { this.#state = state }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const ex = new Exchange(req, res)
    res.once('close', () => this.#finish(ex))
    try {
      this.#start(ex)
    } catch (err) {
      this.#sendError(ex, 'internal_error', err)
    }
  }

  #start (ex: Exchange): void {
    const { req } = ex
    const clientIp = clientAddress(req.socket.remoteAddress)
    const target = normaliseRequestTarget(req.url ?? '')
    const facts: IncomingFacts = { host: undefined, requestId: undefined, contentLength: undefined, chunked: false, idempotencyKey: false }
    const state = this.#state
    // one pass over the headers yields the request id, which even a routing error reports
    ex.headers = buildUpstreamHeaders(req.rawHeaders, { clientIp, trusted: this.#trusted.has(clientIp), proto: this.#proto }, facts)
    ex.requestId = isSaneRequestId(facts.requestId) ? facts.requestId : randomUUID()
    ex.hasBody = facts.chunked || (facts.contentLength !== undefined && facts.contentLength !== '0')
    if (target === undefined) return this.#sendError(ex, 'bad_path')
    ex.path = target.path
    const match = state.table.match(target.path, ex.method, facts.host)
    if (match === undefined) return this.#sendError(ex, 'no_route')
    const runtime = state.pools.get(match.route.pool)
    if (runtime === undefined) return this.#sendError(ex, 'no_route')
    ex.route = match.route
    ex.pool = runtime
    ex.upstreamPath = match.upstreamPath + target.query
    // preserveHost: false appends the target's host per attempt instead
    if (runtime.config.preserveHost && facts.host !== undefined) ex.headers.push('host', facts.host)
    ex.headers.push('x-request-id', ex.requestId)
    ex.idempotencyKey = facts.idempotencyKey && runtime.config.retryIdempotencyKey
    ex.hashKey = runtime.hashKey?.(req, clientIp)
    ex.deadline = Date.now() + runtime.config.timeouts.requestMs

    runtime.budget.requestStarted()
    if (!ex.hasBody) {
      void this.#forward(ex, runtime)
      return
    }
    const length = facts.chunked ? Infinity : Number(facts.contentLength)
    if (!facts.chunked) ex.contentLength = length
    if (runtime.retry.mayRetry(ex.method, ex.idempotencyKey) && length <= runtime.config.retry.maxBufferBytes) {
      // small enough to keep for a replay
      readBody(req, length, Math.max(1, ex.deadline - Date.now())).then((buf) => {
        ex.body = buf
        return this.#forward(ex, runtime)
      }, (err: unknown) => {
        runtime.budget.requestFinished()
        if (!ex.clientGone) this.#sendError(ex, err instanceof GatewayError ? err.code : 'bad_request')
      })
      return
    }
    ex.body = req
    ex.replayable = false
    void this.#forward(ex, runtime)
  }

  /**
   * One request through the pool's breaker. The breaker judges whole requests: a request that failed on a
   * primary but succeeded on a retry (another target, or the standby) was served, and must not trip it.
   */
  async #forward (ex: Exchange, runtime: PoolRuntime): Promise<void> {
    try {
      if (!runtime.breaker.allows()) return this.#sendError(ex, 'circuit_open', undefined, runtime.breaker.retryAfterSeconds())
      let last: AttemptResult | undefined
      try {
        last = await runtime.breaker.run(async () => {
          const result = await this.#tryTargets(ex, runtime)
          if (result?.failure !== undefined) throw new UpstreamFailure(result)
          // a half-open probe that never got an answer (no target, client gone, bad request) proves nothing:
          // the breaker stays open rather than closing on it
          if (runtime.breaker.state === 'half-open' && (result === undefined || !result.responded)) throw new UpstreamFailure(result)
          return result
        })
      } catch (err) {
        if (!isBreakerRejection(err)) throw err
        // opened, or its half-open probe slot taken, since the check above
        return this.#sendError(ex, 'circuit_open', undefined, runtime.breaker.retryAfterSeconds())
      }
      if (last === undefined) {
        if (!ex.clientGone) this.#sendError(ex, 'no_available_target', undefined, 1)
      } else {
        this.#sendAttemptError(ex, last)
      }
    } catch (err) {
      this.#sendError(ex, 'internal_error', err)
    } finally {
      runtime.budget.requestFinished()
    }
  }

  /** Attempts until one answers the client or the policy, budget or deadline says stop; returns the last. */
  async #tryTargets (ex: Exchange, runtime: PoolRuntime): Promise<AttemptResult | undefined> {
    let last: AttemptResult | undefined
    // a retry slot taken from the budget for the next attempt
    let slot = false
    try {
      for (;;) {
        if (ex.clientGone) return last
        const target = runtime.pool.pick(ex, ex.tried)
        if (target === undefined) return last
        if (ex.attempts > 0 && !slot) {
          if (!runtime.budget.tryAcquire()) return last
          slot = true
        }
        const isRetry = slot
        try {
          last = await sendAttempt(ex, runtime, target)
        } finally {
          if (isRetry) runtime.budget.release()
          slot = false
        }
        slot = last.slotTaken
        if (last.responded || ex.clientGone || !last.retryable) return last
        if (last.delayMs > 0) await sleep(last.delayMs)
      }
    } finally {
      if (slot) runtime.budget.release()
    }
  }

  #sendAttemptError (ex: Exchange, result: AttemptResult): void {
    if (result.responded || ex.clientGone) return
    // the client's own fault (a request undici cannot send, a stalled upload)
    if (ex.errorCode === 'bad_request' || ex.errorCode === 'request_timeout') return this.#sendError(ex, ex.errorCode, result.error)
    const kind = result.failure ?? 'reset'
    const code: ErrorCode = kind === 'timeout' ? 'upstream_timeout' : kind === 'bad-response' ? 'upstream_bad_response'
      : kind === 'status' ? 'upstream_error' : 'upstream_unreachable'
    this.#sendError(ex, code, result.error)
  }

  #sendError (ex: Exchange, code: ErrorCode, cause?: unknown, retryAfterSeconds?: number): void {
    ex.errorCode = code
    const { res } = ex
    if (code === 'internal_error') this.#logger.error({ err: cause, requestId: ex.requestId }, 'unexpected error while proxying')
    if (res.headersSent || res.destroyed) {
      res.destroy()
      return
    }
    const body = JSON.stringify({ error: code, message: ERRORS[code].message, requestId: ex.requestId })
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': ex.requestId,
      'cache-control': 'no-store',
    }
    if (retryAfterSeconds !== undefined) headers['retry-after'] = retryAfterSeconds
    // a request body we never read would poison the keep-alive connection
    if (ex.hasBody && !ex.req.complete) headers.connection = 'close'
    res.writeHead(ERRORS[code].status, headers)
    res.end(body)
  }

  #finish (ex: Exchange): void {
    const { res, req } = ex
    if (!res.writableFinished && ex.cutShortBy === undefined) {
      ex.clientGone = true
      ex.attempt?.abort()
    }
    const socket = ex.socket
    const last = ex.tried.length > 0 ? ex.tried[ex.tried.length - 1] : undefined
    this.#logger.info({
      requestId: ex.requestId,
      method: ex.method,
      path: ex.path || req.url,
      route: ex.route?.id,
      pool: ex.pool?.name,
      target: last?.url,
      status: res.headersSent ? res.statusCode : 499,
      durationMs: Math.round((performance.now() - ex.startedAt) * 100) / 100,
      bytesIn: requestBodyBytes(ex),
      bytesOut: socket.bytesWritten - ex.bytesWrittenAtStart,
      attempts: ex.attempts,
      targets: ex.tried.length > 1 ? ex.tried.map((t) => t.url) : undefined,
      error: ex.errorCode,
      aborted: ex.clientGone || undefined,
    }, 'request')
  }
}

/** Body bytes received: exact when buffered or length-delimited, wire bytes (with chunk framing) when chunked. */
function requestBodyBytes (ex: Exchange): number {
  if (Buffer.isBuffer(ex.body)) return ex.body.length
  if (ex.contentLength !== undefined && ex.req.complete) return ex.contentLength
  return ex.socket.bytesRead - ex.bytesReadAtStart
}

/**
 * Reads a body whose length is known to be small; rejects if the client sends more, goes away, or has not
 * sent it all within `timeoutMs` (408 request_timeout: a slow client must not hold the request forever).
 */
function readBody (req: IncomingMessage, expected: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => {
      reject(new GatewayError('request_timeout'))
      req.pause()
    }, timeoutMs)
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > expected) req.destroy(new GatewayError('bad_request'))
      else chunks.push(chunk)
    })
    req.once('end', () => {
      clearTimeout(timer)
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    })
    req.once('error', (err) => { clearTimeout(timer); reject(err) })
    req.once('close', () => { clearTimeout(timer); if (!req.complete) reject(new GatewayError('bad_request')) })
  })
}
