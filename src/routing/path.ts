// Request-target normalisation. The normalised path is what gets routed AND what gets forwarded,
// so a path can never be routed as one prefix and then be read as another by the upstream.

export interface NormalisedTarget {
  /**
   * Path with dot segments removed, repeated slashes merged and percent-encoded unreserved characters decoded
   * (`/%70ayment` is `/payment`, RFC 3986 §6.2.2.2); every other percent-encoding is kept, in upper case (§6.2.2.1).
   */
  path: string
  /** '' or '?…' exactly as received. */
  query: string
}

/** Returns undefined for a target that must be refused (400 bad_path). */
export function normaliseRequestTarget (rawUrl: string): NormalisedTarget | undefined {
  let url = rawUrl
  if (url.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (RFC 9112 §3.2.2) is allowed; '*' and anything else is not routable
    // absolute-form: keep the raw path (URL parsing would resolve encoded dots before the checks below)
    const m = ABSOLUTE_FORM.exec(url)
    if (m === null || !isValidAuthority(m[1]!)) return undefined
    url = url.slice(m[0].length) || '/'
    if (url.charCodeAt(0) !== 47) url = '/' + url
  }
  const hashAt = url.indexOf('#')
  if (hashAt !== -1) url = url.slice(0, hashAt)
  const q = url.indexOf('?')
  const rawPath = q === -1 ? url : url.slice(0, q)
  const query = q === -1 ? '' : url.slice(q)

  // Fast path: nothing that could need work (no dots after a slash, no %, no //, no backslash).
  if (!NEEDS_WORK.test(rawPath)) return { path: rawPath, query }
  if (ENCODED_SEPARATOR.test(rawPath) || rawPath.includes('\\')) return undefined
  const segments = rawPath.split('/')
  const out: string[] = []
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!
    const last = i === segments.length - 1
    if (seg.includes('%') || seg.includes(';')) {
      if (!isValidPercentEncoding(seg)) return undefined
      // an encoded control byte (%00 ends a C string, %0d%0a splits a header line) means something else to
      // whichever upstream decodes it: refuse (RFC 9110 §4.2.3 leaves such bytes to each application to read)
      if (ENCODED_CONTROL.test(seg)) return undefined
      // '%2e'-spelled dot segments, and '..;x' (a dot segment to servlet containers), would be dot segments
      // to some upstream: refuse rather than guess
      const semicolon = seg.indexOf(';')
      const base = (semicolon === -1 ? seg : seg.slice(0, semicolon)).replace(/%2e/gi, '.')
      if (base !== seg && (base === '.' || base === '..')) return undefined
      // An encoded letter, digit or -._~ means the same as the character itself (RFC 3986 §2.3, §6.2.2.2), so
      // it is routed as one, and sent as one: otherwise '/%70ayment' would pass the '/' route's checks while an
      // upstream that decodes reads '/payment' (HAProxy's `normalize-uri percent-decode-unreserved`). Any other
      // escape's hex digits are case-insensitive (§6.2.2.1): written in upper case, so '/caf%c3%a9' is routed, and
      // sent, as the '/caf%C3%A9' it means (HAProxy's `percent-to-uppercase`).
      // (never to a dot segment: '%2e'-spelled ones were refused above)
      out.push(seg.replace(ENCODED_UNRESERVED, decodeByte).replace(LOWER_CASE_ESCAPE, upperCase))
      continue
    }
    if (seg === '.' || seg === '') {
      if (last) out.push('')
      continue
    }
    if (seg === '..') {
      out.pop()
      if (last) out.push('')
      continue
    }
    out.push(seg)
  }
  return { path: '/' + out.join('/'), query }
}

/**
 * The authority of an absolute-form target ('http://shop.example:8080/a' → 'shop.example:8080'), which a
 * server must use instead of the Host header (RFC 9112 §3.2.2); undefined for any other form.
 */
export function absoluteFormAuthority (rawUrl: string): string | undefined {
  if (rawUrl.charCodeAt(0) === 47 /* / */) return undefined
  return ABSOLUTE_FORM.exec(rawUrl)?.[1]
}

/**
 * Whether a Host value (or an absolute-form authority) is `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986
 * §3.2.2) whose name a host could have: no path, no userinfo, no spaces, lists or other sub-delims. Not empty either: an http URI has a host, and a recipient
 * must reject one without (RFC 9110 §4.2.1). HTTP/1.0 may leave Host out altogether; that is not this.
 */
export function isValidAuthority (value: string): boolean {
  return AUTHORITY.test(value)
}

/** '/a/b/' and '/a/b' are the same route prefix. */
export function normaliseRoutePath (path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.replace(/\/+$/, '') || '/' : path
}

/** Why a configured route path could never match a normalised request path, or undefined when it can. */
export function routePathProblem (path: string): string | undefined {
  if (!path.startsWith('/')) return "must start with '/'"
  // request targets arrive as printable ASCII (anything else percent-encoded): a route spelled otherwise never matches
  if (!/^[\x21-\x7e]*$/.test(path)) return 'must be printable ASCII without spaces (percent-encode other characters, as requests carry them)'
  if (/[?#]/.test(path)) return 'must not contain ? or #'
  // requests are normalised before matching, so a route that is not normalised could never match
  if (/\/\/|\/\.\.?(\/|$)|\\/.test(path)) return "must be a normalised path (no '//', '.' or '..' segments, no backslash)"
  // escapes as requests are routed: an encoded letter, digit or -._~ is decoded ('/%70ayment' never matches: the
  // request is routed as '/payment'), and an encoded '/', '\\', control byte or dot segment is refused (400 bad_path)
  // (and other escapes are written in upper case: '/caf%c3%a9' is routed as '/caf%C3%A9')
  const routed = normaliseRequestTarget(path)
  if (routed === undefined) {
    if (/(^|\/)\.\.?;/.test(path)) return "must not hold a '..;' or '.;' segment (a dot segment to servlet containers; requests with one are refused)"
    return "must not hold a bad escape or one requests are refused for (%2F, %5C, control bytes, '%2e' dot segments)"
  }
  if (routed.path !== path) return `must be spelled as requests are routed: ${routed.path}`
  return undefined
}

const NEEDS_WORK = /\/\.|%|\/\/|\\|;/
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]+)/i
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i
// IP-literal, or reg-name (unreserved, pct-encoded), then an optional port. RFC 3986 lets a reg-name hold sub-delims
// too, which no host name holds: a Host of 'public.example,admin.example' was routed as one unknown name and went on
// as an X-Forwarded-Host list, whose last (Fastify) or first (Express) entry the upstream took for its host
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})+)(?::[0-9]*)?$/
const ENCODED_SEPARATOR = /%2f|%5c/i
// A-Z (41-5A), a-z (61-7A), 0-9 (30-39), '-' and '.' (2D, 2E), '_' (5F), '~' (7E)
const ENCODED_UNRESERVED = /%(?:[46][1-9a-f]|[57][0-9a]|3[0-9]|2[de]|5f|7e)/gi

const LOWER_CASE_ESCAPE = /%(?:[a-f][0-9A-Fa-f]|[0-9A-F][a-f])/g

function upperCase (escape: string): string {
  return escape.toUpperCase()
}

function decodeByte (escape: string): string {
  return String.fromCharCode(Number.parseInt(escape.slice(1), 16))
}

function isValidPercentEncoding (segment: string): boolean {
  return !/%(?![0-9a-fA-F]{2})/.test(segment)
}
