// The admin listener (its own port; loopback by default): liveness, readiness, metrics, status and the
// operator's actions. Actions reach a pool only through its public operations (setStatus, switchover, failback).
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { ReloadResult, ReloadTrigger } from '../config/reloader.ts'
import { describeDiff } from '../config/diff.ts'
import { adminError, type ErrorCode } from '../errors.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { RoutePlan } from '../release/plans.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { TargetStatus } from '../upstream/status.ts'
import type { UpstreamPool } from '../upstream/pool.ts'
import type { Target } from '../upstream/target.ts'
import { canonicalIp } from '../ip.ts'
import { watchConnectionDrops } from '../lifecycle/connection-drops.ts'
import { systemClock } from '../runtime.ts'
import { LAZY_SCHEMA_COMPILERS } from '../fastify-compilers.ts'
import { onClientError } from '../proxy/client-error.ts'
import { otherMethods, type OtherMethod } from './allow.ts'
import { bearerCheck, fromAnotherOrigin, servedHost } from './auth.ts'
import { poolStatus } from './status.ts'
import type { GatewayEvent, StatusDocument, TargetStatusView } from './status-types.ts'

export interface AdminContext {
  status (): StatusDocument
  events (): readonly GatewayEvent[]
  pools (): ReadonlyMap<string, PoolRuntime>
  readiness (): StatusDocument['readiness']
  /** Overload protection is refusing requests now (event loop lag, heap or RSS over their limits). */
  overloaded (): boolean
  metrics: GatewayMetrics | undefined
  reload (trigger: ReloadTrigger): Promise<ReloadResult>
  /** Routes with a canary, by name (or id when unnamed). */
  canaryRoutes (): ReadonlyMap<string, RoutePlan>
  /** Whether a route of this name (or, unnamed, this id) is in force: one without a canary is 409, not 404. */
  hasRoute?: (label: string) => boolean
  /** The admin token in force now (a reload may change the config's). */
  token: () => string | undefined
  /** The address the listener bound: on loopback with no token set, Host names other than `localhost` and IPs are refused. */
  host?: string
  /** The host the listener was configured with: a name the operator chose is served as a Host too. */
  name?: string
  /**
   * A handover is under way (a stop signal with server.reusePort): every answer closes its connection, so a
   * client's next call opens a new one, which reaches the process taking over the port; actions are refused 503.
   */
  handingOver?: () => boolean
  logger: Logger
}

/**
 * What each GET route gives away, which decides who may call it:
 *   probe  anyone, whatever the Host (kubelet, load balancers)
 *   open   no token; with no token set, only under a Host the listener serves (see servedHost)
 *   data   the gateway's state: the token when one is set, and never for a page of another origin
 * A GET route not listed here is `data`. Every POST is an action: guarded like `data`, and logged.
 */
type Access = 'probe' | 'open' | 'data'
const GET_ACCESS: Record<string, Access> = {
  '/healthz': 'probe',
  '/readyz': 'probe',
  '/metrics': 'open',
  // the dashboard page and its assets carry no state: the page asks for the token and sends it
  '/': 'open',
  '/dashboard/app.js': 'open',
  '/dashboard/app.css': 'open',
  '/dashboard/config.json': 'open',
  '/status': 'data',
  '/pools': 'data',
  '/events': 'data',
  '/history': 'data',
  '/live': 'data',
}

/**
 * How a request is guarded. Any method on a path that is there is guarded as its GET (a 405's Allow says what the
 * path takes), so a probe or an open path stays open: a POST to /healthz is a 405 like a PUT, not a 401. Other POSTs
 * (found or not: the token comes before anything is looked at) are actions.
 */
function accessOf (request: FastifyRequest, route = request.routeOptions.url): Access | 'action' {
  const listed = route !== undefined && Object.hasOwn(GET_ACCESS, route) ? GET_ACCESS[route]! : undefined
  if (listed === 'probe' || listed === 'open') return listed
  if (request.method === 'POST') return 'action'
  if (route === undefined) return 'open' // answered 404
  return listed ?? 'data'
}

const TARGET_ACTIONS: Record<string, Partial<TargetStatus>> = {
  drain: { draining: true },
  enable: { draining: false, disabled: false, ejectedUntil: 0 }, // an outlier ejection too (HAProxy: set server ready)
  disable: { disabled: true },
}

/** A route's id (host, path, methods, headers) in POST /routes/:route/canary can pass find-my-way's default 100. */
const ROUTER_OPTIONS = { maxParamLength: 2048 }

/** The largest request body the admin listener reads (every action's body is a few bytes of JSON). */
const BODY_LIMIT = 16 * 1024

/** How long the admin listener waits for a whole request, head and body. */
const REQUEST_TIMEOUT_MS = 30_000

/** Whether a request announces a body over BODY_LIMIT. */
function announcedOverLimit (req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > BODY_LIMIT
}

/** Whether a request still has a body to come that is over BODY_LIMIT or of no declared length. */
function bodyLeftUnbounded (req: IncomingMessage): boolean {
  if (req.complete) return false
  return req.headers['transfer-encoding'] !== undefined || announcedOverLimit(req)
}

export function buildAdmin (ctx: AdminContext): FastifyInstance {
  /**
   * Headers every answer gets: no cache may keep one (what it says is true now only: RFC 9111 §4.2.2 would let a
   * cache guess a lifetime), and an answer that did not read a body over the limit, or of no declared length (a
   * refusal before the body, a probe), closes the connection after it, as Fastify's own 413 does: Node would read
   * that body to its end for as long as the client sends. A refusal is decided before any body is parsed, so a
   * chunked one closes whatever its size. An answer after a body read whole keeps the connection.
   */
  const lastHeaders = (reply: FastifyReply): void => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    if (bodyLeftUnbounded(reply.request.raw) || ctx.handingOver?.() === true) reply.header('connection', 'close')
    // Fastify's body parsers close after any error, for fear of more to come; a body read to its end leaves none,
    // and the connection stays as the client asked (said, for HTTP/1.0's keep-alive; a client's own close stays)
    else if (reply.request.raw.complete && reply.raw.shouldKeepAlive && reply.getHeader('connection') === 'close') {
      // set by hand, the header stops Node adding its own pair: the idle limit's hint goes with it, as on every answer
      reply.header('connection', 'keep-alive').header('keep-alive', `timeout=${Math.floor(reply.server.server.keepAliveTimeout / 1000)}`)
    }
  }
  /** What an action's log line says beside its method, path and status: the switchover's direction, a refusal's code. */
  const callFields = new WeakMap<FastifyRequest, Record<string, unknown>>()
  const noteCall = (request: FastifyRequest, fields: Record<string, unknown>): void => {
    callFields.set(request, { ...callFields.get(request), ...fields })
  }
  const fail = (reply: FastifyReply, code: ErrorCode, extra: Record<string, unknown> = {}): FastifyReply => {
    noteCall(reply.request, { error: code })
    const { status, body } = adminError(code, extra)
    // here too: the router's own refusals (frameworkErrors) skip the onSend hook
    lastHeaders(reply)
    // a 401 names the scheme that would be accepted (RFC 9110 §11.6.1, RFC 6750 §3)
    if (code === 'unauthorized') reply.header('www-authenticate', 'Bearer realm="switchyard"')
    return reply.code(status).send(body)
  }
  /**
   * An action reaching a process that hands over (on a connection opened before its stop signal) would be lost with
   * it: refused, the connection closed, so the retry reaches the process taking over.
   */
  const refuseHandingOver = (reply: FastifyReply): FastifyReply => {
    reply.header('retry-after', '0')
    return fail(reply, 'shutting_down')
  }
  const logCall = (request: FastifyRequest, status: number): void => {
    // a refused one at warn: wrong tokens tried one after another (on reads too) are seen
    const level = status === 401 || status === 403 ? 'warn' : 'info'
    ctx.logger[level]({ method: request.method, path: request.url.split('?')[0], peer: request.socket.remoteAddress, status, ...callFields.get(request) }, 'admin call')
  }
  const admin = Fastify({
    schemaController: LAZY_SCHEMA_COMPILERS,
    logger: false,
    forceCloseConnections: true,
    bodyLimit: BODY_LIMIT,
    // a request (head and body) not received in 30 s is cut: a client that announced a body and sends none, or
    // waits for a 100 it will not get, holds no admin socket for good (the answer, /live's stream, is not limited).
    // Node applies it only with a headers timeout no longer than it, and looks every connectionsCheckingInterval.
    requestTimeout: REQUEST_TIMEOUT_MS,
    http: { headersTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    clientErrorHandler: onClientError,
    routerOptions: ROUTER_OPTIONS,
    // what the router refuses before any hook runs (a parameter too long, bad percent-encoding): from the catalogue,
    // and logged like every other POST
    frameworkErrors: (err, request, reply) => {
      const code: ErrorCode = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'uri_too_long' : 'bad_request'
      if (request.method === 'POST') logCall(request, adminError(code).status)
      return fail(reply, code)
    },
  })
  // an accept the kernel refused (out of file descriptors) is said, never thrown as the listener's fatal error
  watchConnectionDrops(admin.server, ctx.logger, undefined, systemClock, 'admin')
  const authorised = bearerCheck(ctx.token)
  // `Expect: 100-continue`: Node would say 100 before any hook ran, asking for a body the listener may then refuse
  // (RFC 9110 §10.1.1); the request is handled as any other, and 100 said once it passed the checks and its body
  // is about to be read (preParsing, below). Node's own test decides which requests expect it (none over HTTP/1.0,
  // whose clients take no 1xx: RFC 9110 §15.2).
  const expectsContinue = new WeakSet<IncomingMessage>()
  admin.server.on('checkContinue', (req, res) => {
    expectsContinue.add(req)
    admin.server.emit('request', req, res)
  })
  // An empty body is no body, whatever its label: the README's bodiless calls are sent with one by tools (curl -X POST
  // -H 'content-type: application/json'; curl -d '' labels it a form). A body with content is read as JSON, as
  // Fastify would (prototype keys refused); of any other type it is refused, and the call changes nothing.
  const parseJson = admin.getDefaultJsonParser('error', 'error')
  const parseJsonOrEmpty = (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    if (body === '') done(null, undefined)
    else parseJson(request, body as string, done)
  }
  admin.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonOrEmpty)
  // a structured +json type (application/merge-patch+json, RFC 6839 §3.1) is JSON too
  admin.addContentTypeParser(/^application\/[\w.!#$&^-]+\+json\s*(?:;|$)/i, { parseAs: 'string' }, parseJsonOrEmpty)
  const onlyEmpty = (_request: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    if (body === '') done(null, undefined)
    else done(Object.assign(new Error('the admin API reads JSON bodies'), { statusCode: 415 }), undefined)
  }
  admin.addContentTypeParser('text/plain', { parseAs: 'string' }, onlyEmpty)
  admin.addContentTypeParser('*', { parseAs: 'string' }, onlyEmpty)

  admin.setNotFoundHandler((_request, reply) => fail(reply, 'not_found'))
  const unrouted = otherMethods(admin, ROUTER_OPTIONS)
  /** A path that is there, asked with a method it does not take: answered before any body is parsed. */
  const notTaken = (request: FastifyRequest, reply: FastifyReply, other: OtherMethod): FastifyReply => {
    reply.header('allow', other.allow)
    return request.method === 'OPTIONS' ? reply.code(204).send() : fail(reply, 'method_not_allowed')
  }
  admin.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    if (err.statusCode === 413) return fail(reply, 'payload_too_large')
    if (err.statusCode !== undefined && err.statusCode < 500) return fail(reply, 'bad_request', { detail: err.message })
    ctx.logger.error({ err }, 'admin API error')
    return fail(reply, 'internal_error')
  })
  // where the call came from, then the bearer token, before anything is looked at
  admin.addHook('onRequest', async (request, reply) => {
    // the asterisk-form target names no path (RFC 9112 §3.2.4), though find-my-way routes it as '/' (GET * was the
    // dashboard's page): refused as the proxy listener refuses it, whatever the method
    if (request.raw.url === '*') return fail(reply, 'bad_request')
    // no route took it: a path that is there with another method (guarded as that path), or none
    const other = request.is404 ? unrouted(request) : undefined
    // what the router refuses before any hook, as it would with a route of this method on the path (frameworkErrors)
    if (typeof other === 'string') return fail(reply, other)
    const access = accessOf(request, request.is404 ? other?.url : request.routeOptions.url)
    if (access === 'probe') return other !== undefined ? notTaken(request, reply, other) : undefined
    // with a token set, the token is the defence (a rebinding page cannot have it), so any Host may be used
    if (ctx.token() === undefined && !servedHost(request.headers.host, ctx.host, ctx.name)) return fail(reply, 'forbidden_origin')
    // an unknown path is 404 here, before a body is parsed (a body Fastify cannot read would make it a 400 or 413),
    // and, on a guarded path, after the token
    if (access === 'open') return other !== undefined ? notTaken(request, reply, other) : request.is404 ? fail(reply, 'not_found') : undefined
    if (fromAnotherOrigin(request.headers)) return fail(reply, 'forbidden_origin')
    if (!authorised(request.headers.authorization)) return fail(reply, 'unauthorized')
    if (request.is404 && other === undefined) return fail(reply, 'not_found')
    if (access === 'action' && ctx.handingOver?.() === true) return refuseHandingOver(reply)
    if (other !== undefined) return notTaken(request, reply, other)
  })
  // and again once its body is read: an action whose headers came before the stop signal and its body after
  admin.addHook('preHandler', async (request, reply) => {
    if (accessOf(request) === 'action' && ctx.handingOver?.() === true) return refuseHandingOver(reply)
  })
  admin.addHook('preParsing', async (request, reply, payload) => {
    // not for a body announced over the limit (Fastify's 413 comes next, without reading it), nor for a GET or
    // HEAD, whose body Fastify never reads
    if (expectsContinue.has(request.raw) && request.method !== 'GET' && request.method !== 'HEAD' && !announcedOverLimit(request.raw)) {
      reply.raw.writeContinue()
    }
    return payload
  })
  admin.addHook('onSend', async (_request, reply) => lastHeaders(reply))
  // every operator action, refused ones included, and every call refused for its token or origin, with who asked
  admin.addHook('onResponse', async (request, reply) => {
    if (request.method === 'POST' || reply.statusCode === 401 || reply.statusCode === 403) logCall(request, reply.statusCode)
  })

  admin.get('/healthz', async () => ({ status: 'ok' }))
  admin.get('/readyz', async (_request, reply) => {
    const readiness = ctx.readiness()
    const overloaded = ctx.overloaded()
    const ready = readiness === 'ready' && !overloaded
    return reply.code(ready ? 200 : 503).send({ ready, readiness, overloaded })
  })
  admin.get('/metrics', async (_request, reply) => {
    if (ctx.metrics === undefined) return fail(reply, 'metrics_disabled')
    return reply.type(ctx.metrics.contentType).send(await ctx.metrics.renderBytes())
  })
  admin.get('/status', async () => ctx.status())
  admin.get('/events', async () => ({ events: ctx.events() }))
  // the older name of the pools part of /status
  admin.get('/pools', async () => ctx.status().pools)

  admin.post('/reload', async (_request, reply) => {
    const result = await ctx.reload('admin')
    // a draining gateway takes no reload (src/app.ts): no fault of the config, which may be invalid all the same
    // (during a handover with its Retry-After: 0, as any action under way at the stop signal)
    if (result.refused === 'shutting_down') return ctx.handingOver?.() === true ? refuseHandingOver(reply) : fail(reply, 'shutting_down')
    // out of file descriptors or memory, an I/O error: the gateway's own trouble, not an invalid config (a deploy
    // pipeline would take a 422 for a bad push); retryable
    if (result.localFailure !== undefined) {
      reply.header('retry-after', 1)
      return fail(reply, 'reload_failed', { reason: result.localFailure, problems: result.problems ?? [] })
    }
    if (result.result === 'error') return fail(reply, 'invalid_config', { problems: result.problems ?? [] })
    return reply.send({ result: result.result, hash: result.hash, ...(result.diff ? { changes: describeDiff(result.diff), diff: result.diff } : {}), ...(result.restartRequired !== undefined ? { restartRequired: result.restartRequired } : {}) })
  })

  const findPool = (request: FastifyRequest, reply: FastifyReply): PoolRuntime | undefined => {
    const runtime = ctx.pools().get((request.params as { pool: string }).pool)
    if (runtime === undefined) void fail(reply, 'unknown_pool')
    return runtime
  }

  /**
   * An operator's switchover (to 'backup') or failback (to 'primary'), refused when it would move nothing now: with
   * no backup at all, or none of the tier it asks for available, it would only arm a hold that moves traffic later
   * (a backup's recovery, a reload adding one) or drop one (failback 'manual' becoming 'auto'), with no operator
   * asking then. A refusal changes nothing and is only logged; the action itself is fed by the pool's event.
   */
  const moveTier = (request: FastifyRequest, reply: FastifyReply, to: 'backup' | 'primary'): FastifyReply | object => {
    noteCall(request, { to })
    const runtime = findPool(request, reply)
    if (runtime === undefined) return reply
    const { pool } = runtime
    // as the hold is kept: while the config names backups (a DNS name for them may answer nothing for now, and an
    // operator's switchover must stay undoable then)
    if (!pool.namesBackups) return fail(reply, 'no_backup_targets')
    if (!pool.anyAvailable(to === 'backup')) return fail(reply, to === 'backup' ? 'no_available_backup' : 'no_available_primary')
    if (to === 'backup') pool.switchover()
    else pool.failback()
    return { pool: runtime.name, ...poolStatus(runtime) }
  }

  // only the actions there are: another name is no resource, 404 whatever the method (not a 405 naming POST)
  admin.post(`/pools/:pool/targets/:target/:action(^(?:${Object.keys(TARGET_ACTIONS).join('|')})$)`, async (request, reply) => {
    const { target: id, action } = request.params as { target: string; action: string }
    const change = Object.hasOwn(TARGET_ACTIONS, action) ? TARGET_ACTIONS[action] : undefined
    if (change === undefined) return fail(reply, 'not_found')
    const runtime = findPool(request, reply)
    if (runtime === undefined) return reply
    const target = findTarget(runtime.pool, id)
    if (target === undefined) return fail(reply, 'unknown_target')
    // a target a reload removed stays draining, whatever the action: it goes once idle (disable closes its tunnels)
    runtime.pool.setStatus(target, runtime.pool.has(target) ? change : { ...change, draining: true })
    const view = poolStatus(runtime).targets.find((t) => t.id === target.id)
    // a removed target that the action left idle (disable closed its last tunnel) is gone: drained, no longer listed
    return view !== undefined ? { pool: runtime.name, target: view } : { pool: runtime.name, target: goneView(target), removed: true }
  })

  // Active-Standby by hand: { "to": "backup" } moves new traffic to the backups while the primaries are healthy,
  // { "to": "primary" } moves it back (also the way back after a failover under failback: 'manual').
  admin.post('/pools/:pool/switchover', async (request, reply) => {
    const body: unknown = request.body
    // a JSON null or "" is a body that says nothing, not a bodiless call: refused, as {} is
    const to = body === undefined ? 'backup' : (body as { to?: unknown } | null)?.to
    if (to !== 'backup' && to !== 'primary') return fail(reply, 'bad_request', { detail: 'body must be {"to":"backup"} or {"to":"primary"}' })
    return moveTier(request, reply, to)
  })
  // operator's canary weight: takes effect at once; a reload sets the weight from the file again
  admin.post('/routes/:route/canary', async (request, reply) => {
    const weight = (request.body as { weight?: unknown } | undefined)?.weight
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
      return fail(reply, 'bad_request', { detail: 'body must be {"weight": N} with N from 0 to 100' })
    }
    const route = (request.params as { route: string }).route
    const plan = ctx.canaryRoutes().get(route)
    if (plan?.canary === undefined) return fail(reply, ctx.hasRoute?.(route) === true ? 'no_canary' : 'unknown_route')
    plan.setCanaryWeight(weight)
    return { route: plan.name, weight: plan.canary.decider.weight, weightSource: plan.canary.decider.weightSource }
  })

  admin.post('/pools/:pool/failback', async (request, reply) => moveTier(request, reply, 'primary'))
  return admin
}

/** A removed target that has just closed, as /status listed it last (minus its health check). */
function goneView (target: Target): TargetStatusView {
  return { id: target.id, url: target.url, backup: target.backup, weight: target.weight, state: 'drained', inFlight: target.inFlight, tunnels: target.tunnels, requests: target.requests, failures: target.failures }
}

/**
 * A target named as host:port (as /status lists it), or by its URL: one of the pool's, else one a reload removed
 * that /status still lists (finishing requests, or holding a WebSocket tunnel open). A bare host (the URL's host
 * without its default port) names a target only when no other target is written so (`http://h` and `https://h`).
 * Names are compared in one spelling, so the form the config writes (`[0:0::1]:80`, `HOST:80`) names it too.
 */
function findTarget (pool: UpstreamPool, id: string): Target | undefined {
  const name = canonicalTargetName(id)
  const exact = (t: Target): boolean => t.id === id || t.url === id || (name !== undefined && (canonicalTargetName(t.id) === name || canonicalTargetName(t.url) === name))
  const found = pool.targets.find(exact) ?? pool.retiring.find(exact)
  if (found !== undefined) return found
  // a running target first: a reload that changed its weight left its old copy retiring under the same host. Two
  // running targets written so are ambiguous whatever retires (the answer would show the other's state).
  const bare = (t: Target): boolean => name !== undefined && canonicalTargetName(authorityOf(t)) === name
  const running = pool.targets.filter(bare)
  return running.length > 0 ? onlyOne(running) : onlyOne(pool.retiring.filter(bare))
}

/** The host[:port] of the target's URL (not the Host it is sent: a discovered address's is its DNS name). */
function authorityOf (target: Target): string {
  return target.url.slice(target.url.indexOf('//') + 2)
}

/**
 * A target's name (host[:port], or an http(s) URL as its origin) in one spelling: the host lower-cased, an IP
 * literal as src/ip.ts writes it (an IPv4-mapped one as its IPv4 address). Undefined for a URL that is no origin.
 */
function canonicalTargetName (text: string): string | undefined {
  if (text.includes('//')) {
    if (!URL.canParse(text)) return undefined
    const url = new URL(text)
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return undefined
    return `${url.protocol}//${canonicalAuthority(url.host)}`
  }
  return canonicalAuthority(text)
}

/** host[:port] with its host in one spelling; the port as written (the URL parser would drop a default one). */
function canonicalAuthority (authority: string): string {
  const colon = authority.indexOf(':', authority.startsWith('[') ? authority.indexOf(']') + 1 : 0)
  const host = colon === -1 ? authority : authority.slice(0, colon)
  const port = colon === -1 ? '' : authority.slice(colon)
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : undefined
  const ip = literal === undefined ? undefined : isIP(literal) === 6 && !literal.includes('%') ? canonicalIp(literal) : undefined
  if (ip === undefined) return host.toLowerCase() + port
  return (isIP(ip) === 4 ? ip : `[${ip}]`) + port
}

/** The one target of a list; none when it is empty or ambiguous (two schemes on one host name both). */
function onlyOne (targets: readonly Target[]): Target | undefined {
  return targets.length === 1 ? targets[0] : undefined
}
