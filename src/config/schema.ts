// The one source of both the config's TypeScript types and its runtime check.
// Every field has a default here, so the parsed config is complete and nothing downstream guesses.
// a namespace import, not zod's `z` object: the bundle (src/cli/build.ts) then keeps only the parts of zod used here
// instead of all of it (locales, JSON Schema, codecs: 580 KB of 2.2 MB read and evaluated at every start)
import * as z from 'zod'
import { routePathProblem } from '../routing/path.ts'

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT'] as const

const port = z.number().int().min(0, { error: 'must be a port number from 0 to 65535' }).max(65535, { error: 'must be a port number from 0 to 65535' })
const positiveMs = z.number().int({ error: 'must be a whole number of milliseconds' }).positive({ error: 'must be greater than 0' })
const percent = z.number().min(0, { error: 'must be a percentage from 0 to 100' }).max(100, { error: 'must be a percentage from 0 to 100' })
const status = z.number().int().min(100, { error: 'must be an HTTP status from 100 to 599' }).max(599, { error: 'must be an HTTP status from 100 to 599' })

const targetUrl = z.string({ error: 'must be an http:// or https:// URL' }).superRefine((value, ctx) => {
  const problem = targetUrlProblem(value)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

const targetObject = z.strictObject({
  url: targetUrl,
  weight: z.number({ error: 'must be a number' }).positive({ error: 'must be greater than 0' }).finite().default(1),
  /** Standby target: takes traffic only while no primary target is available. */
  backup: z.boolean().default(false),
})
/** DNS service discovery (e.g. a Kubernetes headless Service): every A/AAAA record of the name is a target. */
const dnsTarget = z.strictObject({
  dns: z.string().min(1, { error: 'must be a host name' }).regex(/^[A-Za-z0-9.-]+$/, { error: 'must be a host name' }),
  port: z.number().int().min(1, { error: 'must be a port number from 1 to 65535' }).max(65535, { error: 'must be a port number from 1 to 65535' }),
  refreshMs: positiveMs.default(5000),
  protocol: z.enum(['http', 'https']).default('http'),
  weight: z.number({ error: 'must be a number' }).positive({ error: 'must be greater than 0' }).finite().default(1),
  backup: z.boolean().default(false),
})
const target = z.union([targetUrl, targetObject, dnsTarget], { error: 'must be a URL string, { url, weight?, backup? } or { dns, port, refreshMs? }' })
  .transform((t) => (typeof t === 'string' ? { url: t, weight: 1, backup: false } : t))

const hashKey = z.string().refine((k) => k === 'ip' || /^(header|cookie):[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k), {
  error: "must be 'ip', 'header:<name>' or 'cookie:<name>'",
})
const balancer = z.union([
  z.enum(['round-robin', 'least-connections', 'random', 'p2c']),
  z.strictObject({ type: z.literal('hash'), key: hashKey }),
], { error: "must be 'round-robin', 'least-connections', 'random', 'p2c' or { type: 'hash', key }" })

const statusList = z.array(status).min(1)

// Accepted health-check statuses: single statuses, and ranges written as '200-399'.
const statusOrRange = z.union([status, z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?$/, { error: "must be a status (204 or '204') or a range ('200-399')" })
  .refine((r) => { const [low, high = low] = r.split('-').map(Number); return low! <= high! }, { error: 'a range goes from low to high' })],
{ error: "must be a status (204 or '204') or a range ('200-399')" })
const expectStatus = z.array(statusOrRange).min(1).superRefine((list, ctx) => {
  // two ascending numbers once meant a range: refuse them rather than guess which was meant
  if (list.length === 2 && typeof list[0] === 'number' && typeof list[1] === 'number' && list[0] < list[1]) {
    ctx.addIssue({ code: 'custom', message: `[${list[0]}, ${list[1]}] is ambiguous (it used to mean a range): write ['${list[0]}-${list[1]}'] for the range, or ['${list[0]}', '${list[1]}'] for just those two statuses` })
  }
})

const timeouts = z.strictObject({
  /** TCP (and TLS) connect timeout for one attempt. */
  connectMs: positiveMs.default(1000),
  /** Deadline for the response headers, all attempts together. */
  requestMs: positiveMs.default(30000),
  /** Longest silence from the upstream while it streams the response body. */
  idleMs: positiveMs.default(60000),
  /** Longest silence from the client: a streamed upload that stops arriving (408), or a client that stops reading the response (cut). */
  clientIdleMs: positiveMs.default(60000),
  /** An open WebSocket tunnel with no bytes either way for this long is closed (HAProxy's `timeout tunnel`); 0 = never. */
  tunnelIdleMs: z.number().int().min(0).default(3_600_000),
})

const tls = z.strictObject({
  rejectUnauthorized: z.boolean().default(true),
  /** PEM CA bundle to trust for this pool's upstreams. It replaces the system's CAs for this pool: list every CA needed. */
  ca: z.string().optional(),
  servername: z.string().optional(),
})

const connections = z.strictObject({
  /**
   * Most connections open to one target at once (kept-alive and busy together); requests beyond it queue. Envoy's
   * default: a client that stops reading holds one for `timeouts.clientIdleMs`, and 128 let a few hundred such
   * clients starve everyone else of the pool (bench/hardening-results.md, ninth pass).
   */
  maxPerTarget: z.number().int().positive().default(1024),
  /**
   * Most requests waiting for one of a target's connections (all maxPerTarget busy, or one opening); past it a
   * request is answered 503 upstream_busy at once, or retried on another target (Envoy's max_pending_requests,
   * HAProxy's maxqueue). A request that ends while it waits (a deadline, its client gone) leaves the queue; one
   * whose connection is being opened for it stays counted until that connection takes it and it is aborted.
   */
  maxQueuedPerTarget: z.number().int().positive().default(1024),
  keepAliveMs: positiveMs.default(30000),
})

const healthCheck = z.strictObject({
  path: z.string().startsWith('/', { error: "must start with '/'" }).default('/health'),
  intervalMs: positiveMs.default(2000),
  timeoutMs: positiveMs.default(1000),
  healthyThreshold: z.number().int().positive().default(2),
  unhealthyThreshold: z.number().int().positive().default(3),
  /** Statuses that count as healthy: numbers and 'low-high' ranges, e.g. ['200-399'] or [200, 204]. */
  expectStatus: expectStatus.default(['200-399']),
  /** Fraction of the interval used as random spread, so targets are not probed in lockstep. */
  jitter: z.number().min(0).max(1).default(0.2),
})

const outlier = z.strictObject({
  enabled: z.boolean().default(true),
  consecutiveFailures: z.number().int().positive().default(5),
  baseEjectionMs: positiveMs.default(30000),
  maxEjectionMs: positiveMs.default(300000),
  maxEjectionPercent: percent.default(50),
})

const circuitBreaker = z.strictObject({
  enabled: z.boolean().default(true),
  errorThresholdPercentage: percent.default(50),
  volumeThreshold: z.number().int().min(0).default(20),
  rollingWindowMs: positiveMs.default(10000),
  resetTimeoutMs: positiveMs.default(10000),
})

const retryOnItem = z.union([z.enum(['connect-failure', 'reset', 'timeout']), status],
  { error: "must be 'connect-failure', 'reset', 'timeout' or an HTTP status" })

// POST, PATCH and CONNECT are never retried by method alone: a repeated POST may charge twice.
const NEVER_RETRIED = new Set(['POST', 'PATCH', 'CONNECT'])
const retryMethod = z.enum(HTTP_METHODS).refine((m) => !NEVER_RETRIED.has(m), {
  error: (issue) => `${String(issue.input)} is not idempotent and is never retried by method; to retry ${String(issue.input)} requests that carry an Idempotency-Key header, set retry.idempotencyKey: true`,
})

const retry = z.strictObject({
  /** Total tries, the first one included. */
  attempts: z.number().int().min(1).max(10).default(3),
  retryOn: z.array(retryOnItem).default(['connect-failure', 'reset', 'timeout', 502, 503, 504]),
  /** Idempotent methods that may be retried (POST, PATCH and CONNECT only through idempotencyKey). */
  methods: z.array(retryMethod).default(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']),
  /** Retry POST and PATCH too when the request carries an Idempotency-Key header. */
  idempotencyKey: z.boolean().default(false),
  backoff: z.strictObject({ baseMs: z.number().int().min(0).default(25), maxMs: z.number().int().min(0).default(250) }).prefault({}),
  perTryTimeoutMs: positiveMs.default(2000),
  /** Request bodies up to this size are buffered so they can be replayed; larger ones stream and are sent once. */
  maxBufferBytes: z.number().int().min(0).default(64 * 1024),
  budget: z.strictObject({ percent: percent.default(20), minConcurrent: z.number().int().min(0).default(3) }).prefault({}),
})

const pool = z.strictObject({
  targets: z.array(target).min(1, { error: 'must list at least one target' }),
  balancer: balancer.default('round-robin'),
  timeouts: timeouts.prefault({}),
  /** true: forward the client's Host header; false: send the target's host. */
  preserveHost: z.boolean().default(true),
  tls: tls.prefault({}),
  connections: connections.prefault({}),
  healthCheck: healthCheck.optional(),
  outlier: outlier.prefault({}),
  /** Upstream statuses that count as the upstream's failure (outlier detection, circuit breaker). */
  failureStatuses: statusList.default([502, 503, 504]),
  /** After a switch to standby: 'auto' returns to primaries as soon as one is available, 'manual' waits for an operator. */
  failback: z.enum(['auto', 'manual']).default('auto'),
  circuitBreaker: circuitBreaker.prefault({}),
  retry: retry.prefault({}),
}).transform(({ targets, ...rest }) => ({
  ...rest,
  // fixed targets, and the DNS names whose records are targets too (resolved at run time)
  targets: targets.filter((t) => 'url' in t),
  discover: targets.filter((t) => 'dns' in t),
}))

const readSplit = z.strictObject({
  pool: z.string(),
  methods: z.array(z.enum(HTTP_METHODS)).min(1).default(['GET', 'HEAD']),
  /** After a client's successful write, its reads on this route go to the primary for this long (read-your-writes). */
  stickyAfterWriteMs: positiveMs.default(3000),
  /** A replica whose health check reports more replication lag than this takes no reads until it catches up. */
  maxLagMs: positiveMs.optional(),
})

const canary = z.strictObject({
  pool: z.string(),
  /** Percent of requests sent to the canary pool (100 = blue-green cut-over). */
  weight: percent,
  /** The same key always gets the same version; requests without it are split at random. */
  stickyBy: z.union([hashKey, z.literal('none')]).default('none'),
  /** Requests with one of these values go to the canary whatever its weight; the value 'never' keeps them off it. */
  force: z.strictObject({ header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be a header name' }), values: z.array(z.string().min(1)).min(1).default(['always']) }).optional(),
  /** Weight to 0 once the canary served minRequests in windowMs with an error rate above maxErrorRatePercent. */
  rollback: z.strictObject({
    maxErrorRatePercent: percent.default(5),
    minRequests: z.number().int().min(1, { error: 'must be at least 1' }).default(100),
    windowMs: positiveMs.default(30000),
  }).prefault({}),
})

const mirror = z.strictObject({
  pool: z.string(),
  percent: percent.default(100),
  maxConcurrent: z.number().int().positive().default(64),
})

const route = z.strictObject({
  /** Names the route for the admin API (canary weights) and metrics. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'route names use letters, digits, _, . and -' }).optional(),
  path: z.string().superRefine((path, ctx) => {
    const problem = routePathProblem(path)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  }),
  pool: z.string(),
  methods: z.array(z.enum(HTTP_METHODS)).min(1).optional(),
  /** Exact host (port ignored, case-insensitive). */
  host: z.string().min(1).optional(),
  /** Narrows the route to requests carrying these headers with exactly these values (names case-insensitive). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be a header name' }), z.string()).optional(),
  stripPrefix: z.boolean().default(false),
  /** Request bodies above this size are refused with 413 (counted as they stream, never buffered for it). */
  maxBodyBytes: z.number().int().min(0).optional(),
  /** Read/write split: these methods go to a replica pool; the rest to `pool` (the primary). */
  reads: readSplit.optional(),
  /** Weighted canary (or blue-green at 100) between `pool` and another pool. */
  canary: canary.optional(),
  /** Shadow traffic: a share of requests is also sent, fire and forget, to another pool. */
  mirror: mirror.optional(),
})

const server = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: port.default(8080),
  /** Peers (IPs or CIDR ranges, e.g. a pod CIDR) whose X-Forwarded-* are kept and appended to; from anyone else replaced. */
  trustedProxies: z.array(z.string()).default([]),
  /** SO_REUSEPORT: a new gateway process can bind the same port while the old one drains (Linux). */
  reusePort: z.boolean().default(false),
  /**
   * Connections the kernel holds for the gateway to accept (listen backlog; Linux caps it at net.core.somaxconn).
   * When it is full, a new connection's handshake ACK is dropped and its client waits a SYN-ACK retransmission
   * (1 s, then 2 s): a burst waits in this queue instead.
   */
  backlog: z.number().int().min(1).default(4096),
  /** Request line and headers together; more is answered 431 by Node's parser. */
  maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
  /** Header names with '_' are dropped, so they cannot alias dashed ones upstream (X_Auth_User vs X-Auth-User). */
  dropUnderscoreHeaders: z.boolean().default(true),
  /** Longest request target (path and query); more is answered 414. */
  maxUrlBytes: z.number().int().min(256).default(8 * 1024),
  /** A client must have sent all its headers within this time (slowloris), else the connection is closed. */
  headersTimeoutMs: positiveMs.default(60000),
  /** A client must have sent its whole request (headers and body) within this time; 0 turns the limit off. */
  requestTimeoutMs: z.number().int().min(0).default(300000),
  /** Overload: new requests get 503 overloaded while the event loop lags more than this (0 = off). */
  maxEventLoopDelayMs: z.number().int().min(0).default(0),
  /** Overload: the same while the heap or RSS is above these (0 = off). */
  maxHeapUsedBytes: z.number().int().min(0).default(0),
  maxRssBytes: z.number().int().min(0).default(0),
})

const shutdown = z.strictObject({
  /** After SIGTERM, keep serving this long while /readyz says 503, so load balancers stop sending traffic. */
  delayMs: z.number().int().min(0).default(5000),
  /** Then the longest time in-flight requests get to finish before connections are cut. */
  timeoutMs: positiveMs.default(25000),
})

const admin = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(9901),
  /** Bearer token for mutating admin calls (or env SWITCHYARD_ADMIN_TOKEN). */
  token: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
})

const metrics = z.strictObject({
  /** Prometheus metrics on GET /metrics of the admin listener. */
  enabled: z.boolean().default(true),
})

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** 'stdout', 'stderr' or a file path. */
  destination: z.string().default('stdout'),
  /** Human-readable output for development (needs the dev dependency pino-pretty). */
  pretty: z.boolean().default(false),
})

export const gatewayConfigSchema = z.strictObject({
  server: server.prefault({}),
  admin: admin.prefault({}),
  shutdown: shutdown.prefault({}),
  metrics: metrics.prefault({}),
  log: log.prefault({}),
  pools: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, { error: 'pool names use letters, digits, _ and -' }), pool),
  routes: z.array(route).min(1, { error: 'must list at least one route' }),
  /** Signs read-your-writes cookies; the same on every replica of the gateway (or env SWITCHYARD_SECRET). */
  secret: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
})

/** What a routes.config.ts file exports: every field with a default may be left out. */
export type GatewayConfig = z.input<typeof gatewayConfigSchema>
/** The parsed config: complete, defaulted, frozen. */
export type ResolvedConfig = DeepReadonly<z.output<typeof gatewayConfigSchema>>
export type PoolConfig = ResolvedConfig['pools'][string]
export type RouteConfig = ResolvedConfig['routes'][number]
export type TargetConfig = PoolConfig['targets'][number]
export type DnsTargetConfig = PoolConfig['discover'][number]
export type BalancerConfig = PoolConfig['balancer']
export type RetryPolicy = PoolConfig['retry']
export type HealthCheckConfig = NonNullable<PoolConfig['healthCheck']>
export type OutlierConfig = PoolConfig['outlier']
export type CircuitBreakerConfig = PoolConfig['circuitBreaker']
export type HttpMethod = (typeof HTTP_METHODS)[number]

export type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T

/** What is wrong with a target URL, or undefined. A target is an origin: routes choose paths. */
function targetUrlProblem (value: string): string | undefined {
  if (!URL.canParse(value)) return 'must be an http:// or https:// URL'
  const u = new URL(value)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `must use http:// or https:// (not ${u.protocol}//)`
  if (u.hostname === '') return 'must name a host'
  if (u.pathname !== '/' && u.pathname !== '') return `must not have a path ('${u.pathname}'): a target is scheme://host:port; use the route's path and stripPrefix for paths`
  if (u.search !== '' || u.hash !== '') return 'must not have a query or fragment'
  if (u.username !== '' || u.password !== '') return 'must not carry credentials'
  return undefined
}
