// One catalogue of every error the gateway answers with: a stable code, its HTTP status and a plain sentence.
// Tests assert codes and statuses, never messages.

export const ERRORS = {
  no_route: { status: 404, message: 'No route matches this request' },
  bad_path: { status: 400, message: 'The request path is malformed or tries to change its segments with encoded characters' },
  bad_request: { status: 400, message: 'The request is malformed' },
  upstream_unreachable: { status: 502, message: 'The upstream could not be reached or closed the connection before answering' },
  upstream_bad_response: { status: 502, message: 'The upstream sent an invalid response' },
  upstream_error: { status: 502, message: 'The upstream answered with an error and the request could not be retried' },
  upstream_timeout: { status: 504, message: 'The upstream did not answer in time' },
  upstream_busy: { status: 503, message: 'No connection to the upstream came free in time' },
  pool_busy: { status: 503, message: 'This pool has as many requests in flight as it takes (connections.maxRequests); try again shortly' },
  client_stalled: { status: 408, message: 'The client stopped reading the response' },
  request_timeout: { status: 408, message: 'The request body did not arrive in time' },
  // refused by Node's parser or its timeouts before there was a request (src/proxy/client-error.ts)
  client_timeout: { status: 408, message: 'The request did not arrive in time (server.headersTimeoutMs / requestTimeoutMs on the proxy)' },
  headers_too_large: { status: 431, message: 'The request head is larger than this listener allows (server.maxHeaderBytes on the proxy)' },
  no_available_target: { status: 503, message: 'No target of this pool is available' },
  circuit_open: { status: 503, message: 'The circuit breaker of this pool is open' },
  shutting_down: { status: 503, message: 'The gateway is shutting down' },
  // log only: the connection is closed, no answer goes out
  shutdown_cut: { status: 503, message: 'The gateway shut down before the request was answered (shutdown.timeoutMs ran out)' },
  overloaded: { status: 503, message: 'The gateway is overloaded; try again shortly' },
  uri_too_long: { status: 414, message: 'The request target is too long' },
  expectation_failed: { status: 417, message: 'The request expects something other than 100-continue, which the gateway does not do' },
  body_too_large: { status: 413, message: 'The request body is larger than this route allows' },
  unsupported_transfer_coding: { status: 501, message: 'The request uses a transfer coding the gateway does not implement' },
  method_not_implemented: { status: 501, message: 'The request method is not an HTTP method the gateway implements' },
  http_version_not_supported: { status: 505, message: 'Only HTTP/1.x is served here' },
  // the request's Via names this gateway instance already (src/proxy/via.ts): a pool points back at the gateway
  loop_detected: { status: 508, message: 'The request has passed through this gateway already: a route sends it back here (Via)' },
  internal_error: { status: 500, message: 'Unexpected gateway error' },
  // the admin listener's answers
  unauthorized: { status: 401, message: 'This admin call needs Authorization: Bearer <admin token>' },
  not_found: { status: 404, message: 'No such admin endpoint' },
  method_not_allowed: { status: 405, message: 'This admin endpoint does not take this method (see Allow)' },
  unknown_pool: { status: 404, message: 'No pool of that name' },
  unknown_target: { status: 404, message: 'No target host:port of that name in this pool' },
  unknown_route: { status: 404, message: 'No route of that name' },
  metrics_disabled: { status: 404, message: 'Metrics are off (metrics.enabled: false)' },
  payload_too_large: { status: 413, message: 'The request body is too large' },
  invalid_config: { status: 422, message: 'The config file is invalid; the running config stays in force' },
  // out of file descriptors or memory, an I/O error: the gateway's trouble, not the file's; another reload may work
  reload_failed: { status: 503, message: 'The config could not be read for a reason of the gateway\'s own (see problems); the running config stays in force: try again shortly' },
  forbidden_origin: { status: 403, message: 'This admin call came from a web page of another origin or for a host name the admin listener does not serve' },
  no_backup_targets: { status: 409, message: 'This pool has no backup targets to switch over to' },
  // the admin API refuses a move that would move nothing now: it would only arm a hold (or drop one) that moves
  // traffic later, with no operator asking
  no_available_backup: { status: 409, message: 'No backup target of this pool is available to switch over to; nothing changed' },
  no_available_primary: { status: 409, message: 'No primary target of this pool is available to fail back to; nothing changed' },
  no_canary: { status: 409, message: 'This route has no canary' },
  too_many_watchers: { status: 503, message: 'Too many live dashboard connections are open' },
  dashboard_unavailable: { status: 500, message: 'The dashboard could not be built; see the gateway log' },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof ERRORS

export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** Seconds a client should wait before trying again (sent as Retry-After). */
  readonly retryAfterSeconds: number | undefined

  constructor (code: ErrorCode, options: { cause?: unknown; retryAfterSeconds?: number; message?: string } = {}) {
    super(options.message ?? ERRORS[code].message, { cause: options.cause })
    this.name = 'GatewayError'
    this.code = code
    this.status = ERRORS[code].status
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** The admin API's JSON error body: the same code, status and sentence as every other answer. */
export function adminError (code: ErrorCode, extra: Record<string, unknown> = {}): { status: number; body: Record<string, unknown> } {
  return { status: ERRORS[code].status, body: { error: code, message: ERRORS[code].message, ...extra } }
}

export interface RenderedError {
  status: number
  headers: Record<string, string | number>
  body: string
}

/**
 * The one JSON error answer every refusal uses, proxied request or WebSocket upgrade alike. Without a request id
 * only when Node's parser refused the bytes before there was a request (src/proxy/client-error.ts).
 */
export function renderError (code: ErrorCode, requestId: string | undefined, retryAfterSeconds?: number): RenderedError {
  const body = JSON.stringify({ error: code, message: ERRORS[code].message, requestId })
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  }
  if (requestId !== undefined) headers['x-request-id'] = requestId
  if (retryAfterSeconds !== undefined) headers['retry-after'] = retryAfterSeconds
  return { status: ERRORS[code].status, headers, body }
}

/**
 * Why the proxy itself ended an attempt. Not an answer of their own: each maps to the catalogue code the
 * client or the access log sees (client_gone has none: nobody is left to answer).
 */
export const ABORT_REASONS = {
  client_gone: undefined,
  client_stalled: 'client_stalled',
  upload_stalled: 'request_timeout',
  attempt_timeout: 'upstream_timeout',
  body_too_large: 'body_too_large',
} as const satisfies Record<string, ErrorCode | undefined>

export type AbortReason = keyof typeof ABORT_REASONS

export class AttemptAborted extends Error {
  readonly code = 'SWITCHYARD_ATTEMPT_ABORTED'
  readonly reason: AbortReason
  constructor (reason: AbortReason) {
    super(`attempt aborted: ${reason}`)
    this.name = 'AttemptAborted'
    this.reason = reason
  }

  /**
   * An abort without a captured stack: it is a signal, raised from a handful of known places, and every client
   * that leaves makes one. A stack costs ~9 µs to capture, and more to format where a stream is destroyed with
   * the error (Node reads err.stack there), for a trace nobody reads.
   */
  static signal (reason: AbortReason): AttemptAborted {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      return new AttemptAborted(reason)
    } finally {
      Error.stackTraceLimit = limit
    }
  }
}

/** A command line the CLI cannot run; main prints it with the usage line and exits 1. */
export class UsageError extends Error {
  readonly code = 'usage'
}

/** Raised for a config that fails validation: every problem, each with its path. */
export class ConfigError extends Error {
  readonly code = 'invalid_config'
  readonly problems: readonly string[]

  constructor (problems: readonly string[], source?: string) {
    super(`${source ? `${source}: ` : ''}invalid config:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}
