// Request-target normalisation. The normalised path is what gets routed AND what gets forwarded,
// so a path can never be routed as one prefix and then be read as another by the upstream.

export interface NormalisedTarget {
  /** Path with dot segments removed and repeated slashes merged, still percent-encoded. */
  path: string
  /** '' or '?…' exactly as received. */
  query: string
}

/** Returns undefined for a target that must be refused (400 bad_path). */
export function normaliseRequestTarget (rawUrl: string): NormalisedTarget | undefined {
  let url = rawUrl
  if (url.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (RFC 9112 §3.2.2) is allowed; '*' and anything else is not routable
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) return undefined
    const parsed = new URL(url)
    url = parsed.pathname + parsed.search
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
    if (seg.includes('%')) {
      if (!isValidPercentEncoding(seg)) return undefined
      // '%2e' spelled dot segments would be dot segments to many upstreams: refuse rather than guess.
      const decoded = seg.replace(/%2e/gi, '.')
      if (decoded !== seg && (decoded === '.' || decoded === '..')) return undefined
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

const NEEDS_WORK = /\/\.|%|\/\/|\\/
const ENCODED_SEPARATOR = /%2f|%5c/i

function isValidPercentEncoding (segment: string): boolean {
  return !/%(?![0-9a-fA-F]{2})/.test(segment)
}
