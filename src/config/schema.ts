// The one source of both the config's TypeScript types and its runtime check.
// Every field has a default here, so the parsed config is complete and nothing downstream guesses.
// a namespace import, not zod's `z` object: the bundle (src/cli/build.ts) then keeps only the parts of zod used here
// instead of all of it (locales, JSON Schema, codecs: 580 KB of 2.2 MB read and evaluated at every start)
import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { METHODS } from '../node-http.ts'
import * as z from 'zod'
import { canonicalIp } from '../ip.ts'
import { routePathProblem } from '../routing/path.ts'
import { MAX_TIMER_MS } from '../runtime.ts'

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT'] as const

const port = z.number().int().min(0, { error: 'must be a port number from 0 to 65535' }).max(65535, { error: 'must be a port number from 0 to 65535' })
/**
 * The longest delay a Node timer takes (2^31-1 ms, about 24.8 days): a longer one fires after 1 ms instead, so a
 * "practically never" timeout would fire at once. Every millisecond field is capped here.
 */
const maxMs = { error: `must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a Node timer waits)` }
const positiveMs = z.number().int({ error: 'must be a whole number of milliseconds' }).positive({ error: 'must be greater than 0' }).max(MAX_TIMER_MS, maxMs)
/** A millisecond field where 0 means "off" (or "none"). */
/** Defaults the cross-field checks of validate.ts read too, for fields a config leaves out. */
export const DEFAULT_HEALTH_INTERVAL_MS = 2000
export const DEFAULT_HEALTH_TIMEOUT_MS = 1000
export const DEFAULT_BACKOFF_BASE_MS = 25
export const DEFAULT_BACKOFF_MAX_MS = 250
const nonNegativeMs = z.number().int({ error: 'must be a whole number of milliseconds' }).min(0, { error: 'must be 0 or more' }).max(MAX_TIMER_MS, maxMs)
/**
 * Target weights: ample for any ratio, and small enough that the balancers' sums stay finite and exact
 * (two weights of 1e308 summed to Infinity and every pick failed).
 */
export const MAX_TARGET_WEIGHT = 10_000
const targetWeight = z.number({ error: 'must be a number' }).positive({ error: 'must be greater than 0' })
  .max(MAX_TARGET_WEIGHT, { error: `must be at most ${MAX_TARGET_WEIGHT} (weights are ratios: 1 and 3 mean one in four)` })
const percent = z.number().min(0, { error: 'must be a percentage from 0 to 100' }).max(100, { error: 'must be a percentage from 0 to 100' })
const status = z.number().int().min(100, { error: 'must be an HTTP status from 100 to 599' }).max(599, { error: 'must be an HTTP status from 100 to 599' })

const targetUrl = z.string({ error: 'must be an http:// or https:// URL' }).superRefine((value, ctx) => {
  const problem = targetUrlProblem(value)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

const targetObject = z.strictObject({
  url: targetUrl,
  weight: targetWeight.default(1),
  /** Standby target: takes traffic only while no primary target is available. */
  backup: z.boolean().default(false),
})
/** DNS service discovery (e.g. a Kubernetes headless Service): every A/AAAA record of the name is a target. */
const dnsTarget = z.strictObject({
  dns: z.string().min(1, { error: 'must be a host name' }).regex(/^[A-Za-z0-9.-]+$/, { error: 'must be a host name' }),
  port: z.number().int().min(1, { error: 'must be a port number from 1 to 65535' }).max(65535, { error: 'must be a port number from 1 to 65535' }),
  refreshMs: positiveMs.default(5000),
  protocol: z.enum(['http', 'https']).default('http'),
  weight: targetWeight.default(1),
  backup: z.boolean().default(false),
})
const TARGET_SHAPES = 'must be a URL string, { url, weight?, backup? } or { dns, port, refreshMs?, protocol?, weight?, backup? }'
/**
 * The branch is chosen by the value's shape (a string, an object with `dns`, one with `url`), then only that
 * branch checks it: its problems keep their own paths (`targets[0].weight: must be a number`). A plain union
 * reports a wrong-typed field as the whole target not matching any branch.
 */
const target = z.custom<z.input<typeof targetUrl> | z.input<typeof targetObject> | z.input<typeof dnsTarget>>()
  .transform((value, ctx) => {
    const shape = typeof value === 'string' ? targetUrl
      : typeof value !== 'object' || value === null || Array.isArray(value) ? undefined
        : Object.hasOwn(value, 'dns') ? dnsTarget
          : Object.hasOwn(value, 'url') ? targetObject
            : undefined
    if (shape === undefined) {
      ctx.addIssue({ code: 'custom', message: TARGET_SHAPES })
      return z.NEVER
    }
    const parsed = shape.safeParse(value)
    if (!parsed.success) {
      // as the branch raised them (code and keys too: validate.ts words some by code), under the target's path; their
      // messages are final already, so the input a raw issue carries for its message is not needed
      ctx.issues.push(...parsed.error.issues.map((issue) => ({ ...issue, input: undefined })))
      return z.NEVER
    }
    return typeof parsed.data === 'string' ? { url: parsed.data, weight: 1, backup: false } : parsed.data
  })

const isHashKey = (k: string): boolean => k === 'ip' || /^(header|cookie):[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)
const hashKey = z.string().refine(isHashKey, {
  error: "must be 'ip', 'header:<name>' or 'cookie:<name>'",
})
const balancer = z.union([
  z.enum(['round-robin', 'least-connections', 'random', 'p2c']),
  z.strictObject({ type: z.literal('hash'), key: hashKey }),
], { error: "must be 'round-robin', 'least-connections', 'random', 'p2c' or { type: 'hash', key }" })

const statusList = z.array(status).min(1)

// Accepted health-check statuses: single statuses, and ranges written as '200-399'.
const statusOrRange = z.union([status, z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?$/, { error: "must be a status (204 or '204') or a range ('200-399')", abort: true })
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
  tunnelIdleMs: nonNegativeMs.default(3_600_000),
})

const tls = z.strictObject({
  rejectUnauthorized: z.boolean().default(true),
  /** PEM CA bundle to trust for this pool's upstreams. It replaces the system's CAs for this pool: list every CA needed. */
  ca: z.string().superRefine((ca, ctx) => {
    const problem = caBundleProblem(ca)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  }).optional(),
  /** The name the upstream's certificate is checked against, sent as SNI; an IP address is checked against and not sent. */
  servername: z.string().superRefine((name, ctx) => {
    // past 253 characters no DNS name (RFC 1035), and OpenSSL refuses it at every handshake
    const problem = hostNameProblem(name, SERVERNAME_HINTS) ?? (name.replace(/\.$/, '').length > 253 ? 'must be at most 253 characters (a DNS name is no longer)' : undefined)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  }).optional(),
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
   * request is answered 503 upstream_busy at once, or retried on another target (HAProxy's per-server maxqueue;
   * Envoy's max_pending_requests is per cluster). A request that ends while it waits (a deadline, its client gone)
   * leaves the queue; one whose connection is being opened for it stays counted until that connection takes it and
   * it is aborted.
   */
  maxQueuedPerTarget: z.number().int().positive().default(1024),
  /**
   * Most requests of the pool in flight at once, whatever their target or stage (body being read, waiting for a
   * connection, sent, in a retry's backoff); past it a request is answered 503 pool_busy at once. Envoy's
   * max_requests per cluster: the per-target limits above let a pool of N stuck targets park N × 2048 requests,
   * and their sockets and file descriptors are the whole process's, every other pool's too.
   */
  maxRequests: z.number().int().positive().default(1024),
  keepAliveMs: positiveMs.default(30000),
})

/**
 * A request target undici sends as written: visible ASCII but '#' (a fragment is no part of one: RFC 9112 §3.2), and
 * '%' only in whole escapes. Characters RFC 3986 leaves out ('|', '{', '[') are sent as they are, as the gateway
 * forwards a client's.
 */
const PROBE_PATH = /^\/(?:[\x21\x22\x24\x26-\x7e]|%[0-9A-Fa-f]{2})*$/

const healthCheck = z.strictObject({
  // sent as the probe's request target: a space or a non-ASCII character undici refuses to send (every probe failed
  // locally, the pool answered 503), and a '#' fragment is no part of one (RFC 9112 §3.2)
  path: z.string().startsWith('/', { error: "must start with '/'" })
    .regex(PROBE_PATH, { error: "must be a path (and query) of visible ASCII with no '#' and '%' only in escapes: percent-encode other characters" }).default('/health'),
  intervalMs: positiveMs.default(DEFAULT_HEALTH_INTERVAL_MS),
  timeoutMs: positiveMs.default(DEFAULT_HEALTH_TIMEOUT_MS),
  healthyThreshold: z.number().int().positive().default(2),
  unhealthyThreshold: z.number().int().positive().default(3),
  /** Statuses that count as healthy: numbers and 'low-high' ranges, e.g. ['200-399'], [204] or ['200', '204'] (two ascending numbers are refused as ambiguous). */
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

/** RFC 9110 §5.6.2 token, the syntax of a method (§9.1). */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/

/**
 * Why a method cannot be named in a list of methods (a route's, a retry policy's, a read split's), or undefined.
 * Methods are case-sensitive (RFC 9110 §9.1) and Node's parser takes only upper-case ones, so 'purge' could never
 * match: refused with its spelling rather than read as PURGE, as Envoy's :method match is exact and a config keeps
 * meaning what it says. CONNECT is answered 501 before routing (src/proxy/upgrade.ts), and a method Node's parser
 * does not know is refused 501 by the parser's error (src/proxy/client-error.ts), so no request with either is ever routed. `what`: what could never match.
 */
function methodProblem (method: string, what: string): string | undefined {
  if (!TOKEN.test(method)) return "must be an HTTP method: a token (letters, digits and !#$%&'*+-.^_`|~)"
  if (method !== method.toUpperCase()) return `methods are case-sensitive and requests send them in upper case: write '${method.toUpperCase()}' ('${method}' never matches a request)`
  if (!METHODS.includes(method)) return `Node's HTTP parser refuses requests with this method (501 method_not_implemented before routing), so ${what} could never match; it takes ${METHODS.filter((m) => m !== 'CONNECT').join(', ')}`
  if (method === 'CONNECT') return `CONNECT is answered 501 method_not_implemented before routing (the gateway opens no tunnels): ${what} could never match`
  return undefined
}

/** A method as a list of methods names it: any Node's parser takes (PURGE, PROPFIND, QUERY...), in upper case. */
const methodNamed = (what: string) => z.string().superRefine((method, ctx) => {
  const problem = methodProblem(method, what)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

const retryOnItem = z.union([z.enum(['connect-failure', 'reset', 'timeout']), status],
  { error: "must be 'connect-failure', 'reset', 'timeout' or an HTTP status" })

// POST and PATCH are never retried by method alone: a repeated POST may charge twice (CONNECT is refused as no request
// the gateway routes: methodNamed).
const NEVER_RETRIED = new Set(['POST', 'PATCH'])
const retryMethod = methodNamed('a retry of it').refine((m) => !NEVER_RETRIED.has(m), {
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
  backoff: z.strictObject({ baseMs: nonNegativeMs.default(DEFAULT_BACKOFF_BASE_MS), maxMs: nonNegativeMs.default(DEFAULT_BACKOFF_MAX_MS) }).prefault({}),
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
  /**
   * Most bytes of an upstream response's header names and values together (undici's maxHeaderSize); more is a bad
   * response, 502 upstream_bad_response. 16 KiB as HAProxy's default buffer (nginx's is 4-8 KiB); Envoy allows 60 KiB.
   */
  maxResponseHeaderBytes: z.number().int({ error: 'must be a whole number of bytes' })
    .min(1024, { error: 'must be from 1024 to 1048576 bytes (1 KiB to 1 MiB)' }).max(1024 * 1024, { error: 'must be from 1024 to 1048576 bytes (1 KiB to 1 MiB)' })
    .default(16 * 1024),
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
  methods: z.array(methodNamed('a read of it')).min(1).default(['GET', 'HEAD']),
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
  stickyBy: z.string().refine((k) => k === 'none' || isHashKey(k), { error: "must be 'none', 'ip', 'header:<name>' or 'cookie:<name>'" }).default('none'),
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
  /** Any method token (PURGE, PROPFIND, QUERY...), as it is sent: in upper case. */
  methods: z.array(methodNamed('a route for it')).min(1).optional(),
  /** Exact host name, case-insensitive; requests match it on any port. */
  host: z.string().superRefine((host, ctx) => {
    const problem = hostNameProblem(host, ROUTE_HOST_HINTS)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  }).optional(),
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

/** The shortest admin token accepted, in the file or in SWITCHYARD_ADMIN_TOKEN (src/cli/start-errors.ts). */
export const MIN_ADMIN_TOKEN_LENGTH = 16
/**
 * What an admin token (without surrounding whitespace) may hold: visible ASCII and spaces. Node reads a header's
 * bytes as Latin-1 and browsers refuse other characters in one, so a token with '€' could never be sent: accepted,
 * it locked the admin API for good.
 */
export const ADMIN_TOKEN_CHARACTERS = /^[\x20-\x7e]*$/
export const ADMIN_TOKEN_CHARACTERS_PROBLEM = 'must be printable ASCII (letters, digits, punctuation, spaces): an Authorization header carries no other characters'
/** The read-your-writes cookie key's shortest length (secret, or SWITCHYARD_SECRET). */
export const MIN_SECRET_LENGTH = 16

/** A listener's address: an IP (IPv6 without brackets, as listen() takes it) or a host name ('localhost'). */
const listenHost = z.string().superRefine((host, ctx) => {
  const problem = listenHostProblem(host)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

const VIA_PROBLEM = "must be false or a Via received-by: a name of token characters (letters, digits, !#$%&'*+-.^_`|~) or an [IPv6] address, with an optional :port, at most 255 characters"
/** RFC 9110 §7.6.3 received-by: `pseudonym [ ":" port ]` (a pseudonym is a token; a host name is one too) or an IP-literal. */
const viaReceivedBy = z.string().max(255, { error: VIA_PROBLEM }).regex(/^(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/, { error: VIA_PROBLEM })

const server = z.strictObject({
  host: listenHost.default('0.0.0.0'),
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
  /**
   * Client connections the public listener holds at once (idle keep-alive and WebSocket tunnels included); one more
   * is closed as soon as it is accepted, logged and counted (Node's server.maxConnections; nginx's
   * worker_connections, HAProxy's maxconn). 0 = no limit. Keep it below the fd limit less the upstream connections,
   * probes and a margin, so the gateway refuses a connection it can name instead of running out of fds.
   */
  maxConnections: z.number().int().min(0).default(0),
  /** Request line and headers together; more is answered 431 by Node's parser. */
  maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
  /** Header names with '_' are dropped, so they cannot alias dashed ones upstream (X_Auth_User vs X-Auth-User). */
  dropUnderscoreHeaders: z.boolean().default(true),
  /**
   * The received-by of the Via entry the gateway adds to each request it forwards (RFC 9110 §7.6.3: a pseudonym, or
   * a host and port), with its instance's id, by which a request that comes back to it is refused (508); false: no
   * Via is added, and no loop found.
   */
  // (src/proxy/via.ts's DEFAULT_VIA_RECEIVED_BY, which the front half takes when given none: config imports no runtime)
  via: z.union([viaReceivedBy, z.literal(false)], { error: VIA_PROBLEM }).default('switchyard'),
  /** Longest request target (path and query); more is answered 414. */
  maxUrlBytes: z.number().int().min(256).default(8 * 1024),
  /** A client must have sent all its headers within this time (slowloris), else the connection is closed. */
  headersTimeoutMs: positiveMs.default(60000),
  /** A client must have sent its whole request (headers and body) within this time; 0 turns the limit off. */
  requestTimeoutMs: nonNegativeMs.default(300000),
  /** Overload: new requests get 503 overloaded while the event loop lags more than this (0 = off). */
  maxEventLoopDelayMs: nonNegativeMs.default(0),
  /** Overload: the same while the heap or RSS is above these (0 = off). */
  maxHeapUsedBytes: z.number().int().min(0).default(0),
  maxRssBytes: z.number().int().min(0).default(0),
})

const shutdown = z.strictObject({
  /** After SIGTERM, keep serving this long while /readyz says 503, so load balancers stop sending traffic. */
  delayMs: nonNegativeMs.default(5000),
  /** Then the longest time in-flight requests get to finish before connections are cut. */
  timeoutMs: positiveMs.default(25000),
})

const admin = z.strictObject({
  host: listenHost.default('127.0.0.1'),
  port: port.default(9901),
  /** Bearer token for the admin calls that read state or act (or env SWITCHYARD_ADMIN_TOKEN). */
  // counted as it is used: the admin calls compare the token without its surrounding whitespace (src/admin/auth.ts),
  // so a short one padded to the length (a token file's trailing newlines) must not pass
  token: z.string()
    .refine((token) => token.trim().length >= MIN_ADMIN_TOKEN_LENGTH, { error: `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without surrounding whitespace` })
    .refine((token) => ADMIN_TOKEN_CHARACTERS.test(token.trim()), { error: ADMIN_TOKEN_CHARACTERS_PROBLEM }).optional(),
})

const metrics = z.strictObject({
  /** Prometheus metrics on GET /metrics of the admin listener. */
  enabled: z.boolean().default(true),
})

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** 'stdout', 'stderr' or a file path. */
  destination: z.string().min(1, { error: "must be 'stdout', 'stderr' or a file path" }).default('stdout'),
  /** Human-readable output for development (needs the dev dependency pino-pretty). */
  pretty: z.boolean().default(false),
})

export const gatewayConfigSchema = z.strictObject({
  server: server.prefault({}),
  admin: admin.prefault({}),
  shutdown: shutdown.prefault({}),
  metrics: metrics.prefault({}),
  log: log.prefault({}),
  pools: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, { error: 'pool names use letters, digits, _ and -' })
    .refine((name) => !RESERVED_POOL_NAMES.has(name), { error: (issue) => reservedPoolNameProblem(String(issue.input)) }), pool),
  routes: z.array(route).min(1, { error: 'must list at least one route' }),
  /** Signs read-your-writes cookies; the same on every replica of the gateway (or env SWITCHYARD_SECRET). */
  secret: z.string().min(MIN_SECRET_LENGTH, { error: `must be at least ${MIN_SECRET_LENGTH} characters` }).optional(),
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

/**
 * Names a plain object treats as its own machinery rather than a key like any other: a pool named '__proto__' is
 * dropped by the parser without a word (validate.ts reports it), the others resolve to Object's own properties.
 */
export const RESERVED_POOL_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

export function reservedPoolNameProblem (name: string): string {
  return `'${name}' cannot name a pool: JavaScript objects reserve it; choose another name`
}

/** The field-specific ends of hostNameProblem's messages: what to do instead. */
interface HostNameHints {
  /** For an empty value. */
  readonly empty: string
  /** For a value with a port: where the port comes from. */
  readonly port: string
  /** For a wildcard. */
  readonly wildcard: string
}

const ROUTE_HOST_HINTS: HostNameHints = {
  empty: 'leave host out to match any host',
  port: 'a route matches its host on any port',
  wildcard: 'list one route per host name, or leave host out to match any host',
}

const SERVERNAME_HINTS: HostNameHints = {
  empty: "leave servername out to use the target's host name",
  port: "the port is the target URL's",
  wildcard: "write the name the upstream's certificate is checked against",
}

/**
 * What is wrong with a host name field (routes[].host, pools.*.tls.servername), or undefined: a host name, an IPv4
 * address or a bracketed IPv6 address, with no port. A route's is compared, lower-cased and without one trailing dot,
 * with the request's host name without its port, and a TLS name is matched against certificates the same way:
 * anything else could never match.
 */
function hostNameProblem (host: string, hints: HostNameHints): string | undefined {
  if (host.trim() !== host) return `must not start or end with spaces (write '${host.trim()}')`
  if (host === '') return `must be a host name (${hints.empty})`
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(host)
  if (scheme !== null) return `must be a host name, not a URL (write '${URL.canParse(host) ? new URL(host).hostname : host.slice(scheme[0].length)}')`
  if (host.includes('*')) return `wildcards are not supported: ${hints.wildcard}`
  if (host.includes('/')) return 'must be a host name, without a path'
  if (/\s/.test(host)) return 'must be a host name (no spaces)'
  if (host.startsWith('[')) {
    const close = host.indexOf(']')
    if (close === -1 || !isBracketedIpv6(host.slice(0, close + 1))) return "must be a host name, an IPv4 address or an IPv6 address in brackets ('[::1]')"
    if (close !== host.length - 1) return `must not carry a port: ${hints.port} (write '${host.slice(0, close + 1)}')`
    return undefined
  }
  const colons = host.split(':').length - 1
  if (colons > 1) return `an IPv6 address is written in brackets ('[${host}]')`
  if (colons === 1) return `must not carry a port: ${hints.port} (write '${host.slice(0, host.indexOf(':'))}')`
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(host)) return "must be a host name: letters, digits, '-' and '_' in labels separated by single dots"
  return undefined
}

function listenHostProblem (host: string): string | undefined {
  if (host === '' || isIP(host) !== 0) return undefined
  if (host.startsWith('[') && host.endsWith(']') && isIP(host.slice(1, -1)) === 6) return `an IPv6 address is written without brackets here ('${host.slice(1, -1)}')`
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(host)) return 'must be an IP address or a host name'
  return undefined
}

function isBracketedIpv6 (text: string): boolean {
  return /^\[[0-9A-Fa-f:.]+\]$/.test(text) && URL.canParse(`http://${text}/`)
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/**
 * What is wrong with a tls.ca value, or undefined. Node accepts any text as a CA bundle and silently trusts nothing
 * from it, so every request to the pool would fail verification: the text must hold PEM certificates, each one
 * readable. Text between them (a bundle's comments) is ignored, as OpenSSL does.
 */
function caBundleProblem (ca: string): string | undefined {
  const blocks = ca.match(PEM_CERTIFICATE) ?? []
  if (blocks.length === 0) {
    const trimmed = ca.trim()
    if (trimmed !== '' && !trimmed.includes('\n') && /^(\.{0,2}\/|~\/|[A-Za-z]:\\)|\.(pem|crt|cer|ca-bundle)$/i.test(trimmed)) {
      return `must be the PEM text of the CA certificates, not a file path (in a .ts or .mjs config: readFileSync('${trimmed}', 'utf8'))`
    }
    return "must be PEM text holding at least one '-----BEGIN CERTIFICATE-----' block"
  }
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block)
    } catch (err) {
      return `certificate ${i + 1} of ${blocks.length} is not a readable PEM certificate (${(err as Error).message})`
    }
  }
  return undefined
}

/** What is wrong with a target URL, or undefined. A target is an origin: routes choose paths. */
/**
 * A target's id, `host:port` with the scheme's default port written out: what metrics, /status and the admin API
 * call it. One pool cannot hold two targets with one id (`http://h:443` and `https://h` are the same host and port).
 */
export function targetIdOf (url: URL): string {
  return url.port === '' ? `${url.hostname}:${url.protocol === 'https:' ? 443 : 80}` : url.host
}

/** A DNS name as lookups compare it: case and a root dot mean nothing ('Svc.Example.' is 'svc.example'). */
export function canonicalDnsName (name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}

function targetUrlProblem (value: string): string | undefined {
  if (!URL.canParse(value)) {
    // the URL parser refuses RFC 6874's '[fe80::1%25eth0]': say why, not that it is no URL at all
    const zone = /\[([0-9A-Fa-f:.]+)(%[^\]]*)\]/.exec(value)
    if (zone !== null && isIP(zone[1]!) === 6) return `IPv6 zone ids ('${zone[2]}') are not supported: write a global or unique-local address, not a link-local one`
    return 'must be an http:// or https:// URL'
  }
  const u = new URL(value)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `must use http:// or https:// (not ${u.protocol}//)`
  if (u.hostname === '') return 'must name a host'
  // '[::ffff:127.0.0.1]' is the IPv4 upstream 127.0.0.1: written both ways in one pool it would be two targets
  // (twice the share, two connection limits) under an id no operator would recognise ('[::ffff:7f00:1]:80')
  const ipv4 = u.hostname.startsWith('[') ? canonicalIp(u.hostname.slice(1, -1)) : undefined
  if (ipv4 !== undefined && isIP(ipv4) === 4) return `must not be an IPv4-mapped IPv6 address: write the IPv4 address ('${u.protocol}//${ipv4}${u.port === '' ? '' : `:${u.port}`}')`
  if (u.pathname !== '/' && u.pathname !== '') return `must not have a path ('${u.pathname}'): a target is scheme://host:port; use the route's path and stripPrefix for paths`
  if (u.search !== '' || u.hash !== '') return 'must not have a query or fragment'
  if (u.username !== '' || u.password !== '') return 'must not carry credentials'
  return undefined
}
