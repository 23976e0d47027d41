// The client side of read-your-writes: what a browser's cookie jar and an API client keep from a write, what they
// send back, and the forged, expired or tampered tokens a case adds. Test-minted tokens use the real signer with
// the shared secret, so each is valid in every way but the one its name says.
import { ReadAfterWrite } from '../../../src/release/read-after-write.ts'
import type { ClientKind, Tamper } from './scenario.ts'

export const SECRET = 'rwchaos-shared-secret-of-32-chars!'
export const ROUTE_PATH = '/data'
/** ReadAfterWrite's default maxClockSkewMs (plans.ts does not set it). */
export const SKEW_MS = 1000
/** Longer than any generated stickyAfterWriteMs plus the skew: a token this far off is outside every window. */
const BEYOND_ANY_WINDOW_MS = 400_000 + 60_000

export class Client {
  readonly kind: ClientKind
  readonly index: number
  /** The value of the last sy_rw cookie the gateway set (browsers), and its expiry. */
  cookie: string | undefined
  cookieExpiry: number | undefined
  /** The last x-read-after-write token the gateway answered a write with (API clients echo it), and its expiry. */
  token: string | undefined
  tokenExpiry: number | undefined

  constructor (kind: ClientKind, index: number) {
    this.kind = kind
    this.index = index
  }

  /** Keeps what a successful write's answer says (a browser keeps the cookie, an API client the header). */
  remember (setCookie: readonly string[] | undefined, header: string | string[] | undefined): void {
    const line = setCookie?.find((l) => l.startsWith('sy_rw='))
    if (this.kind === 'browser' && line !== undefined) {
      this.cookie = line.slice('sy_rw='.length, line.indexOf(';'))
      this.cookieExpiry = Number(this.cookie.split('.')[0])
    }
    if (this.kind === 'api' && typeof header === 'string') {
      this.token = header
      this.tokenExpiry = Number(header.split('.')[0])
    }
  }

  /** The request headers for one request; `ownSent`: whether the client's own token went out with it. */
  headers (tamper: Tamper | undefined, now: number, stickyMs: number): { headers: Record<string, string>; ownSent: boolean } {
    const cookies: string[] = []
    let header: string | undefined
    if (this.kind === 'browser' && this.cookie !== undefined) cookies.push(`sy_rw=${this.cookie}`)
    if (this.kind === 'api' && this.token !== undefined) header = this.token
    let ownSent = cookies.length > 0 || header !== undefined
    if (tamper !== undefined) {
      const forged = forgedToken(tamper, now, stickyMs, this.cookie)
      // a forged cookie goes before the real one (the gateway reads at most 4 signatures; 2 here)
      if (forged.cookie !== undefined) cookies.unshift(`sy_rw=${forged.cookie}`)
      if (forged.header !== undefined) {
        // an API client that sends another value instead of its own has not sent its own
        if (header !== undefined) ownSent = this.kind === 'browser' && this.cookie !== undefined
        header = forged.header
      }
    }
    const out: Record<string, string> = {}
    if (cookies.length > 0) out.cookie = ['theme=dark', ...cookies].join('; ')
    if (header !== undefined) out['x-read-after-write'] = header
    return { headers: out, ownSent }
  }
}

function signed (now: number, options: { stickyAfterWriteMs: number; secret?: string; routePath?: string }): string {
  const line = new ReadAfterWrite({ secret: options.secret ?? SECRET, stickyAfterWriteMs: options.stickyAfterWriteMs, routePath: options.routePath ?? ROUTE_PATH, now: () => now }).setCookieHeader()
  return line.slice('sy_rw='.length, line.indexOf(';'))
}

function forgedToken (tamper: Tamper, now: number, stickyMs: number, own: string | undefined): { cookie?: string; header?: string } {
  switch (tamper) {
    case 'forged-signature': return { cookie: `${now + Math.floor(stickyMs / 2)}.${'Q'.repeat(42)}A` }
    case 'moved-expiry': {
      if (own === undefined) return { cookie: `${now + 1000}.${'x'.repeat(43)}` }
      const [expiry, signature] = own.split('.')
      return { cookie: `${Number(expiry) + 1000}.${signature}` }
    }
    case 'expired': return { cookie: signed(now - BEYOND_ANY_WINDOW_MS, { stickyAfterWriteMs: 1000 }) }
    case 'too-far': return { cookie: signed(now, { stickyAfterWriteMs: BEYOND_ANY_WINDOW_MS }) }
    case 'other-route': return { cookie: signed(now, { stickyAfterWriteMs: stickyMs, routePath: '/other' }) }
    case 'other-secret': return { cookie: signed(now, { stickyAfterWriteMs: stickyMs, secret: 'another-deployment-secret-32-chars' }) }
    case 'header-future': return { header: String(now + 3_600_000) }
    case 'header-old': return { header: String(now - BEYOND_ANY_WINDOW_MS) }
    case 'garbage': return { cookie: `${now}..`, header: `${now}x` }
  }
}

/**
 * Whether the gateway must pin a read it decided on at some time in [from, to] (its clock: from the request's
 * sending to its answer): the client's own token, if it sent it, is within the window the gateway accepts then
 * (`windowMs`: stickyAfterWriteMs, or a longer one a reload kept).
 * undefined: a window's edge falls inside that span, so either is right.
 */
export function pinned (c: Client, ownSent: boolean, from: number, to: number, windowMs: (now: number) => number): boolean | undefined {
  if (!ownSent) return false
  const at = (now: number): boolean => {
    // a token (cookie or header: the same) pins while now < expiry ≤ now + window + skew
    const expiry = c.kind === 'browser' ? c.cookieExpiry : c.tokenExpiry
    return expiry !== undefined && now < expiry && expiry <= now + windowMs(now) + SKEW_MS
  }
  const first = at(from)
  return first === at(to) ? first : undefined
}
