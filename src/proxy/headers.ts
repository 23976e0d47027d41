// Header rewriting both ways. Hop-by-hop headers (RFC 9110 §7.6.1) never cross the proxy;
// X-Forwarded-* say who the client was; only trusted proxies may extend an existing chain.
import type { IncomingMessage } from 'node:http'
import { canonicalIp } from '../ip.ts'
import { LOOP_AFTER_PASSES, marksIn, type ViaEntry } from './via.ts'

// Trailer is not hop-by-hop in RFC 9110, but it announces fields only a chunked message carries, and each side's
// framing is the gateway's own (Node throws on a Trailer field in an answer it does not chunk).
// Proxy-Authentication-Info answers the client's Proxy-Authorization, which never crosses (RFC 9110 §11.7.3).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authentication-info', 'proxy-authorization', 'trailer'])

/**
 * Who the client is and how it reached the gateway, besides X-Forwarded-For/-Proto/-Host (which the gateway writes
 * itself): only a trusted proxy (server.trustedProxies) may say it, so these are passed on from one and dropped from
 * any other peer. Upstream frameworks build absolute URLs from X-Forwarded-Port/-Prefix (Spring, Django) and take
 * the client's address from the others (Rails reads Client-IP); a client must not choose them.
 */
const FROM_TRUSTED_PROXY_ONLY: ReadonlySet<string> = new Set([
  // who the client is
  'forwarded', 'x-forwarded', 'x-real-ip', 'true-client-ip', 'x-client-ip', 'client-ip', 'x-cluster-client-ip',
  'cf-connecting-ip', 'fastly-client-ip', 'x-original-forwarded-for', 'x-proxyuser-ip',
  // how it reached the edge: Rack reads X-Forwarded-Ssl and X-Forwarded-Scheme before X-Forwarded-Proto
  'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-ssl', 'x-forwarded-scheme',
  'x-forwarded-protocol', 'x-url-scheme', 'front-end-https',
])

/**
 * Request fields that never go upstream as sent: the hop-by-hop ones; Expect, which the gateway answers itself
 * (100 Continue: Node decides it, src/app.ts 'checkContinue'; the upstream gets the body directly); Max-Forwards,
 * which front.ts passes on, or decrements for TRACE and OPTIONS; Via, which the gateway checks for its own entry and
 * extends with it (src/proxy/via.ts); and the client facts only a trusted proxy may give (FROM_TRUSTED_PROXY_ONLY:
 * the one lookup every field makes finds them).
 */
const HELD_BACK: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'expect', 'max-forwards', 'via', ...FROM_TRUSTED_PROXY_ONLY])

/**
 * Max-Forwards: the first value, as Node's req.headers keeps it (one hop count; joined lines would send the upstream
 * a list no recipient reads as a number). A later line that differs is noted: TRACE and OPTIONS refuse it.
 */
function holdMaxForwards (facts: IncomingFacts, value: string): void {
  if (facts.maxForwards === undefined) facts.maxForwards = value
  else if (value !== facts.maxForwards) facts.maxForwardsConflict = true
}

export interface UpstreamHeaderOptions {
  clientIp: string
  /** The client's peer is in trustedProxies: its X-Forwarded-* are kept and extended. */
  trusted: boolean
  proto: 'http' | 'https'
  /**
   * Drop headers whose names contain '_': some servers (CGI, WSGI, nginx, Rack) read `X_Auth_User` and
   * `X-Auth-User` as one name, so a client could smuggle a value past a check made on the dashed one.
   */
  dropUnderscoreHeaders?: boolean
  /** An absolute-form target's authority, which replaces the Host header (RFC 9112 §3.2.2). */
  authority?: string | undefined
  /** The gateway's Via entry, appended to the request's Via (none: server.via false). */
  via?: ViaEntry | undefined
}

export interface IncomingFacts {
  host: string | undefined
  requestId: string | undefined
  contentLength: string | undefined
  chunked: boolean
  /** An Idempotency-Key with a value: an empty one names no request an upstream could deduplicate. */
  idempotencyKey: boolean
  /** More than one Host line arrived: a 400 (RFC 9112 §3.2). Set only when true. */
  hostRepeated?: boolean
  /** The Transfer-Encoding value as sent (codings other than a lone 'chunked' are refused). */
  transferEncoding?: string
  /** The Host header's value where an absolute-form target's authority replaced it: still checked (RFC 9112 §3.2). */
  hostField?: string
  /**
   * The answer closes the connection. 'close' is among the Connection tokens (RFC 9112 §9.6), also on HTTP/1.0,
   * where Node's parser lets a keep-alive token win. Or the request asked to upgrade (Connection: upgrade and an
   * Upgrade field) and came here, declined. Node's parser stops at such a request and drops the rest of its read,
   * so requests pipelined behind it would wait for answers that never come. Set only when true.
   */
  connectionClose?: boolean
  /** The first Max-Forwards value, held back: front.ts passes it on, or decrements it for TRACE and OPTIONS. */
  maxForwards?: string
  /** Another Max-Forwards line with a different value arrived (a 400 for TRACE and OPTIONS). Set only when true. */
  maxForwardsConflict?: boolean
  /** The request's Via shows it passed this gateway instance LOOP_AFTER_PASSES times already (508). Set only when true. */
  looped?: boolean
}

/**
 * One pass over the raw header list: builds the flat [name, value, …] list sent upstream and
 * collects the facts the proxy needs, so req.headers is never materialised on the hot path.
 * The caller appends host and x-request-id once it knows the pool and has decided the id.
 */
export function buildUpstreamHeaders (raw: readonly string[], opts: UpstreamHeaderOptions, facts: IncomingFacts): string[] {
  let connectionTokens: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      connectionTokens ??= new Set()
      for (const t of raw[i + 1]!.split(',')) {
        const token = t.trim().toLowerCase()
        if (token !== '') connectionTokens.add(token)
      }
    }
  }
  if (connectionTokens?.has('close') === true) facts.connectionClose = true
  const out: string[] = []
  let forwardedFor: string | undefined
  let forwardedProto: string | undefined
  let forwardedHost: string | undefined
  /** Where the last Via line passed on is in `out`: the gateway's entry goes at the end of its list. */
  let viaAt: number | undefined
  /** This gateway instance's entries in the request's Via: the passes it made here already. */
  let passes = 0
  const dropUnderscore = opts.dropUnderscoreHeaders === true
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    const value = raw[i + 1]!
    switch (name) {
      case 'host':
        if (facts.host !== undefined) facts.hostRepeated = true
        facts.host = value // sent as the client's or the target's, per pool (the caller appends it)
        continue
      case 'x-request-id':
        facts.requestId = value
        continue
      case 'x-switchyard-mirror': // the gateway's own (MIRROR_HEADER): only its shadow copies carry it, with its value
        continue
      case 'content-length':
        facts.contentLength = value
        out.push(name, value)
        continue
      case 'transfer-encoding':
        facts.chunked = true
        facts.transferEncoding = facts.transferEncoding === undefined ? value : `${facts.transferEncoding}, ${value}`
        continue
      case 'idempotency-key':
        // an empty key (Node trims the value) makes nothing safe to send twice: the upstream has nothing to dedupe by
        if (value.trim() !== '') facts.idempotencyKey = true
        out.push(name, value)
        continue
      case 'x-forwarded-for':
        if (opts.trusted) forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`
        continue
      case 'x-forwarded-proto':
        if (opts.trusted) forwardedProto ??= value
        continue
      case 'x-forwarded-host':
        if (opts.trusted) forwardedHost ??= value
        continue
      case 'upgrade': // hop-by-hop
        if (connectionTokens?.has('upgrade') === true) facts.connectionClose = true
        continue
    }
    // (the rare fields held back are found by the set lookup every other field makes anyway, not by more cases of
    // the switch above, which every field of every request would compare against)
    if (HELD_BACK.has(name)) {
      if (name === 'max-forwards') holdMaxForwards(facts, value)
      else if (name === 'via') {
        if (opts.via !== undefined) passes += marksIn(value, opts.via.mark)
        // (a Via the Connection field names is hop-by-hop: dropped, and the gateway's own entry starts a new list)
        if (connectionTokens?.has(name) !== true) {
          viaAt = out.length
          out.push(name, value)
        }
      }
      // only a trusted proxy may say who the client is (and a field named in Connection is hop-by-hop, even its)
      else if (opts.trusted && FROM_TRUSTED_PROXY_ONLY.has(name) && connectionTokens?.has(name) !== true) out.push(name, value)
      continue
    }
    if (connectionTokens?.has(name) === true) continue
    if (dropUnderscore && name.includes('_')) continue
    out.push(name, value)
  }
  // the target's authority, not the Host header, names the host of an absolute-form request
  if (opts.authority !== undefined) {
    if (facts.host !== undefined) facts.hostField = facts.host
    facts.host = opts.authority
  }
  if (passes >= LOOP_AFTER_PASSES) facts.looped = true
  if (opts.via !== undefined) {
    // one list, in order (RFC 9110 §7.6.3): appended to the last line the client sent, as one more field line
    // would leave an upstream that reads only one of them without it
    if (viaAt === undefined) out.push('via', opts.via.entry)
    else {
      const before = out[viaAt + 1]!
      out[viaAt + 1] = before.trim() === '' ? opts.via.entry : `${before}, ${opts.via.entry}`
    }
  }
  out.push('x-forwarded-for', forwardedFor === undefined ? opts.clientIp : `${forwardedFor}, ${opts.clientIp}`)
  out.push('x-forwarded-proto', forwardedProto ?? opts.proto)
  if (forwardedHost !== undefined || facts.host !== undefined) out.push('x-forwarded-host', (forwardedHost ?? facts.host)!)
  return out
}

export type ResponseHeaders = Record<string, string | string[] | undefined>

/** The field names a response's Connection field lists (hop-by-hop for the whole message), lower case. */
export function connectionTokens (connection: string | string[] | undefined): Set<string> {
  const tokens = new Set<string>()
  // a repeated field is an array: String() joins its values with commas, as one list
  if (connection !== undefined) for (const t of String(connection).split(',')) tokens.add(t.trim().toLowerCase())
  return tokens
}

/** Removes hop-by-hop headers from an upstream response in place. */
export function stripResponseHopByHop (headers: ResponseHeaders): ResponseHeaders {
  for (const token of connectionTokens(headers.connection)) if (token !== '') delete headers[token]
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name]
  return headers
}

/**
 * An upstream response's headers as the flat [name, value, …] list writeHead() takes, without hop-by-hop headers
 * and without `skip` (headers the proxy sets itself); `noLength` (a 204: RFC 9110 §8.6, as nginx) without
 * Content-Length. The upstream's object is read, never changed: deleting keys would turn it into a slow
 * dictionary for the one walk Node makes over it.
 */
export function responseHeaderList (headers: ResponseHeaders, skip: string, skipAlso?: string, noLength = false): (string | string[])[] {
  const connection = headers.connection
  let tokens: Set<string> | undefined
  // 'Connection: keep-alive' (most upstreams, on every response) names nothing more to drop
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') tokens = connectionTokens(connection)
  const out: (string | string[])[] = []
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || name === skip || name === skipAlso || HOP_BY_HOP.has(name) || tokens?.has(name) === true) continue
    if (noLength && name === 'content-length') continue
    out.push(name, value)
  }
  return out
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

export function isSaneRequestId (value: string | undefined): value is string {
  return value !== undefined && REQUEST_ID.test(value)
}

/**
 * A request header's first field line (`name` lower case), as nginx's `$http_…` reads it: Node joins repeated lines
 * with ', ', so a client or proxy that adds a second line would otherwise change a hash key or hide a force header.
 * A value with no comma is one line, so the raw headers are read only when there is one.
 */
export function firstFieldValue (req: IncomingMessage, name: string): string | undefined {
  const joined = req.headers[name]
  if (joined === undefined || typeof joined !== 'string' || !joined.includes(',')) return Array.isArray(joined) ? joined[0] : joined
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1]
  return joined
}

/**
 * The client a trusted proxy's X-Forwarded-For names: from the right, the first address that is not a trusted
 * proxy (all of them trusted: the leftmost), as nginx's real_ip_recursive reads it. An entry may carry a port
 * ('203.0.113.7:5000', '[2001:db8::1]:443', as some load balancers write them) and any spelling of an address (one
 * client, one key); an entry that is no address at all makes the list untrustworthy: the peer is the client then.
 */
export function forwardedClient (xff: string, peer: string, trusts: (address: string, hop: number) => boolean): string {
  const entries = xff.split(',')
  let client = peer
  let hop = 0
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!.trim()
    if (entry === '') continue
    const address = entryAddress(entry)
    if (address === undefined) return peer
    client = address
    if (!trusts(address, ++hop)) return address
  }
  return client
}

const PORT = /^\d{1,5}$/

/** An X-Forwarded-For entry's address, without brackets or port, in its canonical spelling; undefined if none. */
function entryAddress (entry: string): string | undefined {
  let host = entry
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']')
    const rest = end < 0 ? undefined : entry.slice(end + 1)
    if (rest === undefined || (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1))))) return undefined
    host = entry.slice(1, end)
  } else {
    const colon = entry.indexOf(':')
    // one colon: IPv4 and a port (an IPv6 address has two or more)
    if (colon > 0 && colon === entry.lastIndexOf(':')) {
      if (!PORT.test(entry.slice(colon + 1))) return undefined
      host = entry.slice(0, colon)
    }
  }
  return canonicalIp(host)
}

/** '::ffff:1.2.3.4' → '1.2.3.4', so trustedProxies and X-Forwarded-For read as people write them. */
export function clientAddress (remote: string | undefined): string {
  if (remote === undefined) return 'unknown'
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote
}

/**
 * A route that strips its prefix tells the upstream what it removed (Traefik's StripPrefix, Spring Cloud Gateway's):
 * frameworks build links and redirects as X-Forwarded-Prefix + path (Spring's ForwardedHeaderFilter, werkzeug's
 * ProxyFix, ASP.NET's UsePathBase), so without it a redirect to /login leaves the route. What a trusted proxy already
 * removed comes first, its values joined as Spring joins them (comma-separated, each without its trailing '/'):
 * `/edge` then `/api` is `/edge/api`. (Only a trusted proxy's lines are in `headers`: buildUpstreamHeaders.)
 */
export function setForwardedPrefix (headers: string[], removed: string): void {
  let before = ''
  for (let i = 0; i < headers.length;) {
    if (headers[i] !== 'x-forwarded-prefix') {
      i += 2
      continue
    }
    for (const part of headers[i + 1]!.split(',')) {
      const p = part.trim()
      before += p.endsWith('/') ? p.slice(0, -1) : p
    }
    headers.splice(i, 2)
  }
  headers.push('x-forwarded-prefix', before + removed)
}
