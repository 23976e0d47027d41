// The front half of every request, proxied or upgraded alike: who the client is, the headers to send upstream,
// the request id, the normalised path, the route and its pool. Decided once, in one place.
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import proxyAddr from '@fastify/proxy-addr'
import type { ErrorCode } from '../errors.ts'
import { METHODS } from '../node-http.ts'
import { loggedTargetPath } from './access-log.ts'
import { absoluteFormAuthority, isValidAuthority, normaliseRequestTarget } from '../routing/path.ts'
import type { RoutePlan } from '../release/plans.ts'
import { SAFE_METHODS } from '../release/read-after-write.ts'
import type { Route } from '../routing/table.ts'
import type { GatewayState } from '../state.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import { extractHashKey } from './hash-key.ts'
import { buildUpstreamHeaders, clientAddress, setForwardedPrefix, firstFieldValue, forwardedClient, isSaneRequestId, type IncomingFacts } from './headers.ts'
import { newRequestId } from './request-id.ts'
import { DEFAULT_VIA_RECEIVED_BY, viaEntries } from './via.ts'

export interface FrontOptions {
  /** Peers (IPs or CIDR ranges) whose X-Forwarded-* are kept and extended. */
  trustedProxies: readonly string[]
  proto?: 'http' | 'https'
  /** Drop request headers with '_' in their names (default true; server.dropUnderscoreHeaders). */
  dropUnderscoreHeaders?: boolean
  /** The received-by of the gateway's Via entry, or false for none (default 'switchyard'; server.via). */
  via?: string | false
}

/** What the front half learnt; `refusal` is set when the request cannot be routed. */
export interface Admission {
  /**
   * The client's address for hash keys and canary stickiness (`ip`): the peer's, or when the peer is a trusted proxy,
   * the nearest address its X-Forwarded-For names that is not one (nginx's real_ip, Envoy's trusted hops): behind
   * an ingress every client would otherwise share one key.
   */
  clientIp: string
  requestId: string
  /** Flat [name, value, …] list for the upstream; host and x-request-id included once a pool is known. */
  headers: string[]
  facts: IncomingFacts
  /**
   * The normalised path, as routed and logged; for a target refused as bad_path, the raw path without its query or
   * absolute-form authority (loggedTargetPath), only ever logged.
   */
  path: string
  route: Route | undefined
  runtime: PoolRuntime | undefined
  /** Path and query to send upstream. */
  upstreamPath: string
  refusal: ErrorCode | undefined
  /** The route's split, canary or mirror, if it has one. */
  plan: RoutePlan | undefined
  /** The canary decision, on a canary route. */
  version: 'canary' | 'stable' | undefined
  /** The canary decider's epoch when `version` was decided (CanaryDecider.epoch). */
  canaryEpoch: number
  /**
   * A read sent to a split route's replicas: the pool (and canary decision) a request of this route that is not a
   * replica read goes to, which serves the read if no replica does. Set only for such reads.
   */
  fallback?: { pool: string; version: 'canary' | 'stable' | undefined }
  /** A write through a read/write split route (a success pins the client's reads to the primary). */
  write: boolean
  /**
   * Refused as malformed (malformedRequest): the answer closes the connection. The gateway refused because a peer
   * could read this request differently, so where the next one starts is in doubt too.
   */
  malformed: boolean
  /** TRACE or OPTIONS with Max-Forwards: 0: the gateway answers as the final recipient (RFC 9110 §7.6.2). */
  answerHere: boolean
}

/** `upgrade`: a WebSocket upgrade (src/proxy/upgrade.ts), which a split route sends to its primary. */
export type Admit = (req: IncomingMessage, state: GatewayState, upgrade?: boolean) => Admission

/** `instanceId`: the gateway instance's (src/proxy/via.ts), which its Via entry carries and its loop check looks for. */
export function createAdmit (options: FrontOptions, instanceId: string): Admit {
  const trust = proxyAddr.compile([...options.trustedProxies])
  const proto = options.proto ?? 'http'
  const dropUnderscoreHeaders = options.dropUnderscoreHeaders ?? true
  const via = viaEntries(options.via ?? DEFAULT_VIA_RECEIVED_BY, instanceId)
  return (req, state, upgrade = false) => {
    const peerIp = clientAddress(req.socket.remoteAddress)
    const trusted = trust(peerIp, 0)
    const facts: IncomingFacts = { host: undefined, requestId: undefined, contentLength: undefined, chunked: false, idempotencyKey: false }
    const url = req.url ?? ''
    const authority = absoluteFormAuthority(url)
    // one pass over the headers yields the request id, which even a routing error reports
    const viaEntry = via === undefined ? undefined : req.httpVersionMinor === 0 ? via.http10 : via.http11
    const headers = buildUpstreamHeaders(req.rawHeaders, { clientIp: peerIp, trusted, proto, dropUnderscoreHeaders, authority, via: viaEntry }, facts)
    const requestId = isSaneRequestId(facts.requestId) ? facts.requestId : newRequestId()
    const clientIp = clientOf(req, peerIp, trusted, trust)
    const admission: Admission = { clientIp, requestId, headers, facts, path: '', route: undefined, runtime: undefined, upstreamPath: '', refusal: undefined, plan: undefined, version: undefined, canaryEpoch: 0, write: false, malformed: false, answerHere: false }
    // OPTIONS of an absolute-form target with an empty path and no query means `OPTIONS *` (RFC 9112 §3.2.4),
    // which no route serves: refused as `OPTIONS *` is, not sent upstream as `OPTIONS /`
    const target = req.method === 'OPTIONS' && authority !== undefined && hasNoPathOrQuery(url, authority) ? undefined : normaliseRequestTarget(url)
    if (target === undefined) {
      admission.refusal = 'bad_path'
      // logged without its query or userinfo, as a routed path is (never the raw target: it may carry secrets)
      admission.path = loggedTargetPath(url)
      return admission
    }
    admission.path = target.path
    const malformed = malformedRequest(req, facts)
    if (malformed !== undefined) {
      admission.refusal = malformed
      admission.malformed = true
      return admission
    }
    // it came back: a pool (or a proxy it sends to) points at this gateway; refused before it goes round again
    if (facts.looped === true) {
      admission.refusal = 'loop_detected'
      return admission
    }
    const table = state.table
    const match = table.match(target.path, req.method ?? 'GET', facts.host, table.narrowsByHeaders ? (name) => firstValue(req.headers[name]) : undefined)
    if (match === undefined) {
      admission.refusal = 'no_route'
      return admission
    }
    if (facts.maxForwards !== undefined && !forwardsLeft(req.method, facts, headers, admission)) return admission
    // A request the gateway answers itself (answerHere) is the route's, not its canary's or replicas': no version
    // is drawn (its answer says nothing of one, and must not keep a failing canary from rolling back), no read
    // pinned or sent to the primary.
    const plan = admission.answerHere ? undefined : state.plans?.get(match.route)
    const runtime = state.pools.get(plan === undefined ? match.route.pool : choosePool(plan, req, admission, state, upgrade))
    if (runtime === undefined) {
      admission.refusal = 'no_route'
      return admission
    }
    admission.route = match.route
    admission.runtime = runtime
    admission.plan = plan
    admission.upstreamPath = match.upstreamPath + target.query
    if (match.route.stripPrefix && match.route.prefix !== '/') setForwardedPrefix(headers, match.route.prefix)
    // preserveHost: false sends the target's host instead, added per attempt once the target is known
    if (runtime.config.preserveHost && facts.host !== undefined) headers.push('host', facts.host)
    headers.push('x-request-id', requestId)
    return admission
  }
}

/** Admission.clientIp: the peer's address, or the client a trusted peer's X-Forwarded-For names. */
function clientOf (req: IncomingMessage, peerIp: string, trusted: boolean, trust: (address: string, hop: number) => boolean): string {
  const forwardedFor = trusted ? req.headers['x-forwarded-for'] : undefined
  return typeof forwardedFor === 'string' ? forwardedClient(forwardedFor, peerIp, trust) : peerIp
}

/**
 * The client's address as an admission works it out (Admission.clientIp), for the access-log line of a request
 * never admitted: refused before it (too long, overloaded) or ended while it waited its pipelined turn.
 */
export function createClientIp (options: Pick<FrontOptions, 'trustedProxies'>): (req: IncomingMessage, socket: Socket) => string {
  const trust = proxyAddr.compile([...options.trustedProxies])
  return (req, socket) => {
    // (Node keeps the peer's address once read: no second getpeername for a connection the admission read it of)
    const peerIp = clientAddress(socket.remoteAddress)
    return clientOf(req, peerIp, trust(peerIp, 0), trust)
  }
}

/** The largest Max-Forwards the gateway passes on (RFC 9110 §7.6.2 (b): the lesser of this and the value less one). */
const MAX_FORWARDS_CAP = 255

/**
 * Max-Forwards (RFC 9110 §7.6.2): its first value passed on unchanged for most methods; for TRACE and OPTIONS
 * decremented, or, at 0, the request goes no further and the gateway answers it (answerHere). False when the request
 * is refused (400: a value that is not one number, or lines that disagree).
 */
function forwardsLeft (method: string | undefined, facts: IncomingFacts, headers: string[], admission: Admission): boolean {
  const value = facts.maxForwards!
  if (method !== 'TRACE' && method !== 'OPTIONS') {
    headers.push('max-forwards', value)
    return true
  }
  if (facts.maxForwardsConflict === true || !/^[0-9]+$/.test(value)) {
    admission.refusal = 'bad_request'
    return false
  }
  const left = Math.min(Number(value), MAX_FORWARDS_CAP + 1)
  if (left === 0) admission.answerHere = true
  else headers.push('max-forwards', String(left - 1))
  return true
}

/** An absolute-form target that is scheme and authority alone ('http://b.example'): no path, no query. */
function hasNoPathOrQuery (url: string, authority: string): boolean {
  return url.length === url.indexOf('://') + 3 + authority.length
}

/** The HTTP methods Node's parser knows (it also reads RTSP and ICE methods, with their own request lines). */
const HTTP_METHODS: ReadonlySet<string> = new Set(METHODS)

/**
 * What Node's parser lets through but a proxy must refuse, because the upstream (or a cache between) could
 * read the request differently from the gateway.
 */
function malformedRequest (req: IncomingMessage, facts: IncomingFacts): ErrorCode | undefined {
  // HTTP/1.x framing with another major version in the request line (RFC 9112 §2.3)
  if (req.httpVersionMajor !== 1) return 'http_version_not_supported'
  // Node's parser also reads RTSP and ICE request lines; their own methods (DESCRIBE, SETUP, …) are no HTTP
  // method, and an upstream would refuse them: a 502 counted against its pool (RFC 9110 §9.1: 501)
  if (!HTTP_METHODS.has(req.method ?? '')) return 'method_not_implemented'
  // two Host lines, or one that is not an authority (a path, userinfo, a list): RFC 9112 §3.2, RFC 9110 §7.2
  if (facts.hostRepeated === true) return 'bad_request'
  // an HTTP/1.1 request without Host (RFC 9112 §3.2: 400): Node's parser is told not to refuse it
  // (requireHostHeader: false, src/app.ts), so that the refusal is the gateway's, with its body, log line and count
  if (req.httpVersionMinor !== 0 && req.headers.host === undefined) return 'bad_request'
  if (facts.host !== undefined && !isValidAuthority(facts.host)) return 'bad_request'
  // a Host line beside an absolute-form target is ignored for routing, but an invalid one is still a 400
  if (facts.hostField !== undefined && !isValidAuthority(facts.hostField)) return 'bad_request'
  const codings = facts.transferEncoding
  if (codings !== undefined) {
    // an HTTP/1.0 message with Transfer-Encoding has faulty framing (RFC 9112 §6.1)
    if (req.httpVersionMinor === 0) return 'bad_request'
    // Node's parser has checked that chunked comes last, once; the gateway re-chunks the body and would
    // hand the upstream, say, gzip bytes it was never told about: a coding it does not implement
    // (RFC 9112 §6.1: 501); without chunked last the framing itself is unknown (§6.3 (4): 400)
    const list = codings.toLowerCase().split(',').map((c) => c.trim())
    if (list.at(-1) !== 'chunked') return 'bad_request'
    if (list.length > 1) return 'unsupported_transfer_coding'
  }
  return undefined
}

/**
 * Which pool a request of a planned route goes to. Reads of a split route go to the replicas unless the client
 * wrote through this route moments ago (its signed cookie or header) or no replica is available; upgrades and
 * other methods go to the primary, and only those that are not safe pin the client's reads (admission.write). On
 * a canary route a sticky key, a force header or a random draw decides the version.
 */
function choosePool (plan: RoutePlan, req: IncomingMessage, admission: Admission, state: GatewayState, upgrade: boolean): string {
  const reads = plan.reads
  let toReplicas = false
  // A WebSocket upgrade is a session, not a read: what it carries may write, a read-only replica would refuse
  // that, and a tunnel open for hours on a replica would escape maxLagMs (lag judges new picks only). It goes
  // where the route's writes go, pins nothing and counts as no read.
  if (reads !== undefined && !upgrade) {
    const method = req.method ?? 'GET'
    if (!reads.methods.has(method)) {
      // to the primary; but a safe method (OPTIONS, TRACE, PROPFIND, …) changes nothing there: it pins no reads
      admission.write = !SAFE_METHODS.has(method)
    } else if (reads.sticky.pinnedToPrimary(firstValue(req.headers.cookie), firstValue(req.headers['x-read-after-write']))) {
      plan.readToPrimary('sticky')
    } else {
      const replicas = state.pools.get(reads.pool)
      toReplicas = replicas !== undefined && replicas.breaker.allows() && replicas.pool.available().length > 0
      // (only a replica's answer says the replicas serve again: replicaAnswered, src/proxy/attempt.ts)
      if (!toReplicas) plan.noReplicaAvailable()
    }
  }
  const primary = primaryPool(plan, req, admission)
  if (!toReplicas) return primary
  // the replicas' read falls back to what the route's other requests get: after a blue-green cut-over (canary
  // weight 100) that is the new version, whether the replicas were found out now or only once tried
  admission.fallback = { pool: primary, version: admission.version }
  admission.version = undefined
  return reads!.pool
}

/** The route's own pool, or its canary's by the canary decision (sticky key, force header or a random draw). */
function primaryPool (plan: RoutePlan, req: IncomingMessage, admission: Admission): string {
  const canary = plan.canary
  if (canary !== undefined) {
    const key = canary.key && extractHashKey(canary.key, req, admission.clientIp)
    const force = canary.forceHeader === undefined ? undefined : firstFieldValue(req, canary.forceHeader)
    admission.version = canary.decider.decide({ key, force })
    admission.canaryEpoch = canary.decider.epoch
    if (admission.version === 'canary') return canary.pool
  }
  return plan.route.pool
}

/**
 * Whether the request came in over HTTPS, as the upstream header list says it (buildUpstreamHeaders sets
 * x-forwarded-proto once: a trusted proxy's first value, else the gateway's own proto). Read only for a write that
 * pins, so it is not worked out for every request.
 */
export function forwardedOverHttps (headers: readonly string[]): boolean {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i] === 'x-forwarded-proto') return /^\s*https\s*(?:,|$)/i.test(headers[i + 1]!)
  }
  return false
}

function firstValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
