// Every metric Switchyard exports, declared once (as Envoy lists its stats): name, help, type, label names, buckets.
// Nothing else in the code base spells a metric name; the bounded label values are listed here too.

/** Outcome of one upstream attempt: 'success', an answered error status worth counting ('status'), or how it failed. */
export const ATTEMPT_OUTCOMES = ['success', 'status', 'connect-failure', 'reset', 'timeout', 'bad-response', 'client-abort', 'bad-request', 'busy', 'local-error', 'stale'] as const
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number]

/** Why a retry was sent: the previous attempt's retryable status or failure kind. */
export const RETRY_REASONS = ['status', 'connect-failure', 'reset', 'timeout', 'bad-response', 'busy', 'stale'] as const
export type RetryReason = (typeof RETRY_REASONS)[number]

export const CONFIG_RELOAD_RESULTS = ['success', 'error', 'unchanged'] as const
export type ConfigReloadResult = (typeof CONFIG_RELOAD_RESULTS)[number]

/**
 * switchyard_refused_requests_total's error codes that are not answers of the error catalogue (src/errors.ts), with
 * the status they are logged and counted with. 'client_closed': a request or upgrade whose client left before any
 * route took it, e.g. while it waited its pipelined turn (the access log's 499, nginx's "client closed request").
 */
export const UNANSWERED_REFUSALS = { client_closed: 499 } as const
export type UnansweredRefusal = keyof typeof UNANSWERED_REFUSALS

/** Why a read went to the primary: a session that just wrote (sticky), or no healthy replica (fallback). */
export const READ_TO_PRIMARY_REASONS = ['sticky', 'fallback'] as const
export type ReadToPrimaryReason = (typeof READ_TO_PRIMARY_REASONS)[number]

export const MIRROR_OUTCOMES = ['sent', 'skipped_concurrency', 'skipped_body', 'skipped_circuit', 'failed', 'error_status'] as const
export type MirrorOutcome = (typeof MIRROR_OUTCOMES)[number]

/**
 * Why the public listener closed a connection it never served: server.maxConnections reached ('limit'), or the
 * kernel refused the accept itself ('accept_error': EMFILE, ENFILE, ENOBUFS...).
 */
export const CONNECTION_DROP_REASONS = ['limit', 'accept_error'] as const
export type ConnectionDropReason = (typeof CONNECTION_DROP_REASONS)[number]

/** switchyard_circuit_state's values. */
export const CIRCUIT_STATE_VALUE = { 'closed': 0, 'half-open': 1, 'open': 2 } as const
export type CircuitState = keyof typeof CIRCUIT_STATE_VALUE

/** switchyard_pool_active_tier's values: which targets of a pool take its traffic (Active-Standby). */
export const POOL_TIER_VALUE = { primary: 0, backup: 1, none: 2 } as const
export type PoolTier = keyof typeof POOL_TIER_VALUE

/** switchyard_pool_hold's values: why traffic is held on a pool's backups (an alert on a failover stays up). */
export const POOL_HOLD_VALUE = { none: 0, failover: 1, operator: 2 } as const
export type PoolHold = keyof typeof POOL_HOLD_VALUE

/**
 * Request methods that get their own label value; any other method is counted as '_OTHER'
 * (as OpenTelemetry's http.request.method does), so a client cannot mint series.
 */
export const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const
export const OTHER_METHOD = '_OTHER'

/** Request latency buckets in seconds: from a fast in-datacentre answer (1 ms) to the longest sensible wait (10 s). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

export interface MetricSpec {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram'
  readonly labelNames: readonly string[]
  readonly buckets?: readonly number[]
}

export const CATALOGUE = {
  requests: {
    name: 'switchyard_requests_total',
    help: 'Requests answered, by route, pool, method and status code',
    type: 'counter',
    labelNames: ['route', 'pool', 'method', 'code'],
  },
  requestErrors: {
    name: 'switchyard_request_errors_total',
    help: 'Requests a route took whose access-log line has an error code, by route, pool and error code: the gateway\'s own answers (circuit_open, no_available_target, upstream_busy, pool_busy, upstream_timeout, upstream_unreachable, body_too_large...) told apart from an upstream\'s own status, and answers an upstream failure cut short',
    type: 'counter',
    labelNames: ['route', 'pool', 'error'],
  },
  requestDuration: {
    name: 'switchyard_request_duration_seconds',
    help: 'Time from request received to response finished, by route and pool',
    type: 'histogram',
    labelNames: ['route', 'pool'],
    buckets: LATENCY_BUCKETS,
  },
  upstreamAttempts: {
    name: 'switchyard_upstream_attempts_total',
    help: 'Attempts sent to an upstream target, by outcome',
    type: 'counter',
    labelNames: ['pool', 'target', 'outcome'],
  },
  retries: {
    name: 'switchyard_retries_total',
    help: 'Retries sent, by pool and the reason the previous attempt failed',
    type: 'counter',
    labelNames: ['pool', 'reason'],
  },
  retryBudgetExhausted: {
    name: 'switchyard_retry_budget_exhausted_total',
    help: 'Retries the policy allowed but the pool\'s retry budget refused',
    type: 'counter',
    labelNames: ['pool'],
  },
  outlierEjectionsSkipped: {
    name: 'switchyard_outlier_ejections_skipped_total',
    help: 'Outlier ejections refused because the tier already had maxEjectionPercent of its targets out of service',
    type: 'counter',
    labelNames: ['pool'],
  },
  circuitState: {
    name: 'switchyard_circuit_state',
    help: 'Circuit breaker state of a pool: 0 closed, 1 half-open, 2 open',
    type: 'gauge',
    labelNames: ['pool'],
  },
  poolActiveTier: {
    name: 'switchyard_pool_active_tier',
    help: 'Which targets of a pool take its traffic: 0 the primaries, 1 the backups, 2 none is available',
    type: 'gauge',
    labelNames: ['pool'],
  },
  poolHold: {
    name: 'switchyard_pool_hold',
    help: 'Why traffic is held on a pool\'s backups: 0 not held, 1 a failover under failback manual, 2 an operator\'s switchover',
    type: 'gauge',
    labelNames: ['pool'],
  },
  targetUp: {
    name: 'switchyard_target_up',
    help: 'Whether a target may take new requests (1) or not (0)',
    type: 'gauge',
    labelNames: ['pool', 'target'],
  },
  targetInFlight: {
    name: 'switchyard_target_in_flight',
    help: 'Requests and open WebSocket tunnels in flight to a target',
    type: 'gauge',
    labelNames: ['pool', 'target'],
  },
  tunnelsOpen: {
    name: 'switchyard_websocket_tunnels_open',
    help: 'WebSocket tunnels open now, gateway-wide (pools removed by a reload included)',
    type: 'gauge',
    labelNames: [],
  },
  refusedRequests: {
    name: 'switchyard_refused_requests_total',
    help: 'Requests the gateway answered itself before any route took them (no route, malformed, overloaded, shutting down, too long, or refused by Node\'s parser), or whose client left before any route took them (499 client_closed), by status code and error code',
    type: 'counter',
    labelNames: ['code', 'error'],
  },
  connectionsDropped: {
    name: 'switchyard_connections_dropped_total',
    help: 'Client connections the public listener closed unserved, by reason: limit (server.maxConnections reached) or accept_error (accept failed, e.g. EMFILE: out of file descriptors)',
    type: 'counter',
    labelNames: ['reason'],
  },
  configReloads: {
    name: 'switchyard_config_reloads_total',
    help: 'Configuration reloads, by result',
    type: 'counter',
    labelNames: ['result'],
  },
  configLastReloadSuccessful: {
    name: 'switchyard_config_last_reload_successful',
    help: 'Whether the last configuration reload was applied or found the config unchanged (1), or rejected the config on disk (0); 1 at start',
    type: 'gauge',
    labelNames: [],
  },
  configInfo: {
    name: 'switchyard_config_info',
    help: 'Hash of the configuration in force (value always 1)',
    type: 'gauge',
    labelNames: ['hash'],
  },
  readsToPrimary: {
    name: 'switchyard_reads_to_primary_total',
    help: 'Reads sent to the primary instead of a replica, by route and reason',
    type: 'counter',
    labelNames: ['route', 'reason'],
  },
  canaryRollbacks: {
    name: 'switchyard_canary_rollbacks_total',
    help: 'Automatic canary rollbacks, by route',
    type: 'counter',
    labelNames: ['route'],
  },
  mirrorRequests: {
    name: 'switchyard_mirror_requests_total',
    help: 'Mirrored (shadow) requests, by route and outcome',
    type: 'counter',
    labelNames: ['route', 'outcome'],
  },
  logDroppedBytes: {
    name: 'switchyard_log_dropped_bytes_total',
    help: 'Bytes of log lines dropped because their destination refused the write (a full disk, a closed pipe, a pipe whose reader stalled)',
    type: 'counter',
    labelNames: [],
  },
} as const satisfies Record<string, MetricSpec>

export type MetricKey = keyof typeof CATALOGUE
