// Who may call the admin listener: the bearer token (when one is set), and where a call came from. A web page the
// operator has open can send requests to a loopback listener (a form's POST, a no-cors fetch) and, through DNS
// rebinding, read its answers; the checks here refuse what a browser marks as coming from another site, and (with
// no token set) Host names a rebinding page would carry.
import { createHash, timingSafeEqual } from 'node:crypto'
import { BlockList, isIP } from 'node:net'

const BEARER = 'bearer '

/**
 * Returns a check for Authorization headers against the token in force at each call (a reload may change it);
 * with no token every call passes. The scheme is case-insensitive (RFC 9110 §11.1): `bearer x` is `Bearer x`.
 * Both tokens are compared without surrounding whitespace: a header cannot carry the newline a token read from a
 * file (a Kubernetes Secret's, `readFileSync` in routes.config.ts) ends with. A token of whitespace only matches none.
 */
export function bearerCheck (token: () => string | undefined): (authorization: string | undefined) => boolean {
  let digestOf: string | undefined
  let expected: Buffer | undefined
  return (authorization) => {
    const current = token()
    if (current === undefined) return true
    if (current !== digestOf) {
      digestOf = current
      const trimmed = current.trim()
      // compare digests: equal lengths, so the comparison time says nothing about the token's length either
      expected = trimmed === '' ? undefined : createHash('sha256').update(trimmed).digest()
    }
    if (expected === undefined) return false
    if (authorization === undefined || authorization.slice(0, BEARER.length).toLowerCase() !== BEARER) return false
    const given = createHash('sha256').update(authorization.slice(BEARER.length).trim()).digest()
    return timingSafeEqual(given, expected)
  }
}

// 127.0.0.0/8 and ::1, in every spelling an address may take (0:0:0:0:0:0:0:1, ::ffff:127.0.0.1 as IPv4-mapped)
const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** Whether a listener's host is the loopback interface: an address in it, or the name localhost in any case. */
export function isLoopback (host: string): boolean {
  const family = isIP(host)
  if (family === 0) return host.toLowerCase() === 'localhost' // a name like 127.example.com is no address
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

/** What a browser says about where a request came from. */
export interface OriginHeaders {
  host?: string | undefined
  origin?: string | undefined
  'sec-fetch-site'?: string | string[] | undefined
}

/**
 * Whether a browser started this request from a page of another origin. Sec-Fetch-Site, where the browser sends it,
 * decides alone ('same-origin' and 'none' are the operator's own): behind a reverse proxy the Host differs from the
 * page's origin, and under the page's `Referrer-Policy: no-referrer` Firefox sends `Origin: null` on its own
 * actions. Without it (older browsers), an Origin naming another host:port than the request's Host (or an opaque
 * `null`) does. Requests from curl, probes and scrapers carry neither header and pass. (Go's CrossOriginProtection
 * decides the same way.)
 */
export function fromAnotherOrigin (headers: OriginHeaders): boolean {
  const site = headers['sec-fetch-site']
  if (typeof site === 'string') return site.toLowerCase() !== 'same-origin' && site.toLowerCase() !== 'none'
  const origin = headers.origin
  if (origin === undefined) return false
  const from = hostOfOrigin(origin)
  return from === undefined || from !== hostAs(origin, headers.host)
}

/**
 * Whether the Host a request names may be served with no token set. A DNS-rebinding page needs a domain name of its
 * own, which it carries in Host: a loopback listener serves only IP literals, `localhost` and the name the operator
 * configured it with (kubelet probes and Prometheus scrapes name an IP; a request without a Host, HTTP/1.0, comes
 * from no browser). A listener on another address with no token is open to its network already (the gateway warns
 * at start), where scrapers may well call it by a service name: any Host is served there.
 */
export function servedHost (host: string | undefined, listenerHost: string | undefined, listenerName?: string): boolean {
  if (host === undefined || (listenerHost !== undefined && !isLoopback(listenerHost))) return true
  const name = hostnameOf(host)
  if (name === undefined) return false
  // `name.` is `name` made absolute (RFC 1034 §3.1): the same host, on either side
  return isIP(name) !== 0 || withoutRootDot(name) === 'localhost' || (listenerName !== undefined && withoutRootDot(name) === withoutRootDot(listenerName.toLowerCase()))
}

function withoutRootDot (name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name
}

/** Userinfo or a path in a Host header would move what the URL parser reads as the host. */
const UNSAFE_IN_HOST = /[@/?#\\]/

/** host:port of an Origin header, as the URL parser normalises it (default port dropped), or undefined. */
function hostOfOrigin (origin: string): string | undefined {
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : undefined
  } catch {
    return undefined // 'null' and anything else that is not an http(s) origin
  }
}

/** A Host header normalised the way hostOfOrigin normalises the origin (same scheme, so the same default port). */
function hostAs (origin: string, host: string | undefined): string | undefined {
  if (host === undefined || UNSAFE_IN_HOST.test(host)) return undefined
  try {
    return new URL(`${new URL(origin).protocol}//${host}`).host
  } catch {
    return undefined
  }
}

/** A Host header's name without port or IPv6 brackets, lower case; undefined if it is not a host. */
function hostnameOf (host: string): string | undefined {
  if (UNSAFE_IN_HOST.test(host)) return undefined
  try {
    const name = new URL(`http://${host}`).hostname
    return name.startsWith('[') ? name.slice(1, -1) : name
  } catch {
    return undefined
  }
}
