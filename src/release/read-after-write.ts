// Read-your-writes for read/write split routes: after a client's successful write, its reads on the same
// route go to the primary pool for stickyAfterWriteMs, so it never reads a replica that lags behind its write.
//
// Browsers carry this in cookie sy_rw = "<expiry epoch ms>.<HMAC-SHA256(secret, route id + expiry)>".
// Stateless: any replica with the same secret accepts it; the route is signed in (its id: host, path, methods,
// headers), so /a's cookie never pins /b, nor a.example/m's b.example/m.
// It pins only while now < expiry ≤ now + stickyAfterWriteMs + maxClockSkewMs, so no stale cookie pins, and none
// claims more than the window. A reload that shortens the window keeps the longer one for the tokens minted under it,
// until the last of them has expired: a write made just before the change stays pinned to its own expiry.
//
// Other clients send back the same token in `x-read-after-write`, which the write's answer carries beside the
// cookie: signed like it, so no client can pin its reads without a write, nor stretch a pin past its window.
//
// A reload that changes the secret keeps accepting tokens signed with the previous one for as long as they can be
// valid (the previous stickyAfterWriteMs and the skew): a key change must not send every pinned client to a
// replica at once. Every earlier secret still in its grace is kept (a second change within the window too), up to
// MAX_PREVIOUS_SECRETS.
//
// Bad input of any kind (malformed, truncated, oversized, non-ASCII, negative, far future) means "not pinned";
// nothing here throws on request data.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { parseCookie, stringifySetCookie } from 'cookie'

export const READ_AFTER_WRITE_COOKIE = 'sy_rw'
export const READ_AFTER_WRITE_HEADER = 'x-read-after-write'

/** Only this much of a Cookie header is read; a cookie further on is ignored (the read goes to a replica). */
const MAX_COOKIE_HEADER = 8192
/** Signatures checked per request at most, so a header full of look-alike cookies costs little. */
const MAX_SIGNATURE_CHECKS = 4
/**
 * A token is at most 15 + 1 + 43 characters, with a little room for spaces around it; the header may list up to
 * MAX_SIGNATURE_CHECKS of them (two field lines, or a client echoing two writes' tokens, arrive as one list).
 */
const MAX_HEADER_VALUE = 64 * MAX_SIGNATURE_CHECKS
/** Expiry (up to 15 digits, no leading zero: one spelling per expiry) and a base64url SHA-256 signature. */
const TOKEN = /^([1-9]\d{0,14})\.([A-Za-z0-9_-]{43})$/
/** Earlier secrets whose tokens are still accepted after changes, at most (newest first; older ones dropped). */
export const MAX_PREVIOUS_SECRETS = 4
/** What a cookie's Path attribute can carry (RFC 6265 path-value), starting with '/'. */
const COOKIE_PATH = /^\/[\x20-\x3A\x3C-\x7E]*$/

export interface ReadAfterWriteOptions {
  secret: string | Buffer
  stickyAfterWriteMs: number
  /** The split route's path prefix: the cookie's Path. */
  routePath: string
  /**
   * The route's id (src/routing/table.ts routeIdOf: host, path, methods, headers), signed into every token so that
   * one route's token pins no other. Default: that of a route matched by its path alone (`*` + routePath).
   */
  routeId?: string
  /** Tolerated clock difference between replicas (cookie) or between client and gateway (header). */
  maxClockSkewMs?: number
  /** Adds Secure to every cookie (when clients reach the gateway over HTTPS); else per write (setCookieHeader). */
  secure?: boolean
  /** Epoch milliseconds; must agree across replicas, so a wall clock. */
  now?: () => number
  /**
   * The route's read-your-writes before a reload: if it signed with another secret or for another scope (the same
   * route, named, with other methods, host or headers), its tokens stay valid here for as long as they could be (its
   * stickyAfterWriteMs and the skew from now), under this route's own checks.
   */
  previous?: ReadAfterWrite
}

/** What makes request methods safe (RFC 9110 §9.2.1, and the IANA method registry's safe ones): never a write. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'REPORT', 'SEARCH', 'QUERY'])

export class ReadAfterWrite {
  readonly #secret: Buffer
  readonly #stickyMs: number
  readonly #routePath: string
  readonly #skewMs: number
  readonly #secure: boolean
  readonly #maxAgeSeconds: number
  readonly #now: () => number
  /** What is signed before the expiry: the version and the route. */
  readonly #scope: string
  /**
   * The secrets and scopes before reloads changed them (a named route's methods, host or headers are in its scope),
   * newest first, each accepted until its `until` (epoch ms).
   */
  readonly #previousSecrets: readonly PreviousSecret[]
  /** A longer window from before reloads that shortened it, accepted until its `until` (epoch ms). */
  readonly #longerWindow: LongerWindow | undefined

  constructor (options: ReadAfterWriteOptions) {
    this.#secret = Buffer.from(options.secret)
    if (this.#secret.length === 0) throw new RangeError('the read-after-write secret must not be empty')
    if (!(Number.isSafeInteger(options.stickyAfterWriteMs) && options.stickyAfterWriteMs > 0)) {
      throw new RangeError(`stickyAfterWriteMs must be a whole number > 0, got ${options.stickyAfterWriteMs}`)
    }
    this.#skewMs = options.maxClockSkewMs ?? 1000
    if (!(Number.isSafeInteger(this.#skewMs) && this.#skewMs >= 0)) throw new RangeError(`maxClockSkewMs must be a whole number ≥ 0, got ${this.#skewMs}`)
    if (!COOKIE_PATH.test(options.routePath)) throw new RangeError(`routePath must start with '/' and be printable ASCII without ';', got ${JSON.stringify(options.routePath)}`)
    this.#stickyMs = options.stickyAfterWriteMs
    this.#routePath = options.routePath
    this.#secure = options.secure ?? false
    this.#maxAgeSeconds = Math.ceil(options.stickyAfterWriteMs / 1000)
    this.#now = options.now ?? Date.now
    // A route matched by its path alone signs just the path, as every token was signed before routes were signed by
    // id: in a rolling upgrade, replicas of either version accept each other's tokens for such routes. Other ids
    // never start with '/' (they start with a host or '*'), so the two kinds cannot be mistaken for each other.
    const routeId = options.routeId ?? `*${options.routePath}`
    this.#scope = `sy_rw v1\n${routeId === `*${options.routePath}` ? options.routePath : routeId}\n`
    const now = this.#now()
    const previous = options.previous
    this.#previousSecrets = previous === undefined ? [] : previous.#gracesAfter(this.#secret, this.#scope, now)
    this.#longerWindow = previous === undefined ? undefined : previous.#windowAfter(this.#stickyMs, now)
  }

  /** The window a successor whose own is `stickyMs` accepts at `now`, when a longer one's tokens may still be valid. */
  #windowAfter (stickyMs: number, now: number): LongerWindow | undefined {
    let window: LongerWindow = { ms: this.#stickyMs, until: now + this.#stickyMs + this.#skewMs }
    const kept = this.#longerWindow
    if (kept !== undefined && now < kept.until && kept.ms > window.ms) window = { ms: kept.ms, until: Math.max(kept.until, window.until) }
    return window.ms > stickyMs ? window : undefined
  }

  /**
   * The previous secrets and scopes a successor signing with `secret` for `scope` accepts at `now`: this one's own
   * (if either differs), for as long as its tokens can be valid, then those of earlier changes still within their
   * grace; newest first.
   */
  #gracesAfter (secret: Buffer, scope: string, now: number): PreviousSecret[] {
    const graces: PreviousSecret[] = []
    const same = (a: { secret: Buffer; scope: string }, b: { secret: Buffer; scope: string }): boolean => a.scope === b.scope && a.secret.equals(b.secret)
    const add = (grace: PreviousSecret): void => {
      if (now < grace.until && !same(grace, { secret, scope }) && !graces.some((g) => same(g, grace))) graces.push(grace)
    }
    add({ secret: this.#secret, scope: this.#scope, until: now + this.#stickyMs + this.#skewMs })
    for (const grace of this.#previousSecrets) add(grace)
    return graces.slice(0, MAX_PREVIOUS_SECRETS)
  }

  /**
   * A new token for a successful write (status < 400) through the route: `<expiry epoch ms>.<signature>`, the value
   * of both the cookie (setCookieHeader) and the x-read-after-write header of the answer.
   */
  token (): string {
    const expires = Math.floor(this.#now()) + this.#stickyMs
    return `${expires}.${this.#sign(this.#secret, this.#scope, expires)}`
  }

  /** The Set-Cookie value carrying `token`; `secure`: the write came in over HTTPS (Secure is added). */
  setCookieHeader (token: string = this.token(), secure = false): string {
    return stringifySetCookie({
      name: READ_AFTER_WRITE_COOKIE,
      value: token,
      path: this.#routePath,
      maxAge: this.#maxAgeSeconds,
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#secure || secure,
    })
  }

  /** Whether this read must go to the primary pool. Either a valid cookie or a valid header is enough. */
  pinnedToPrimary (cookieHeader: string | undefined, headerValue: string | undefined): boolean {
    const now = this.#now()
    return this.#cookiePins(cookieHeader, now) || this.#headerPins(headerValue, now)
  }

  #cookiePins (header: string | undefined, now: number): boolean {
    if (typeof header !== 'string' || !header.includes(READ_AFTER_WRITE_COOKIE)) return false
    // A browser may send several sy_rw (e.g. one for a parent route's path as well): any valid one counts.
    // cookie's parser tries the next cookie of the same name when decode returns undefined. decode also sees
    // other cookies' values; they fail the token pattern at once, and the results for them are never read.
    let checks = 0
    const cookies = parseCookie(header.length > MAX_COOKIE_HEADER ? header.slice(0, MAX_COOKIE_HEADER) : header, {
      decode: (raw) => {
        if (checks >= MAX_SIGNATURE_CHECKS) return undefined
        const token = TOKEN.exec(unquote(raw))
        if (token === null) return undefined
        checks++
        return this.#validToken(token[1]!, token[2]!, now) ? raw : undefined
      },
    })
    return cookies[READ_AFTER_WRITE_COOKIE] !== undefined
  }

  #validToken (expiresText: string, signature: string, now: number): boolean {
    const expires = Number(expiresText)
    const longer = this.#longerWindow
    const windowMs = longer !== undefined && now < longer.until ? longer.ms : this.#stickyMs
    if (!(now < expires && expires <= now + windowMs + this.#skewMs)) return false
    // both sides are 43 ASCII characters (the pattern guarantees it), as timingSafeEqual requires
    const given = Buffer.from(signature, 'latin1')
    if (timingSafeEqual(given, Buffer.from(this.#sign(this.#secret, this.#scope, expires), 'latin1'))) return true
    for (const previous of this.#previousSecrets) {
      if (now < previous.until && timingSafeEqual(given, Buffer.from(this.#sign(previous.secret, previous.scope, expires), 'latin1'))) return true
    }
    return false
  }

  /**
   * The header carries the token a write's answer gave (never a bare time: that anyone could send), or a list of
   * them (RFC 9110 §5.3: repeated lines are one list): any valid one counts, as with cookies.
   */
  #headerPins (value: string | undefined, now: number): boolean {
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE) return false
    for (const item of value.split(',', MAX_SIGNATURE_CHECKS)) {
      const token = TOKEN.exec(item.trim())
      if (token !== null && this.#validToken(token[1]!, token[2]!, now)) return true
    }
    return false
  }

  #sign (secret: Buffer, scope: string, expires: number): string {
    // the route and the expiry, separated by a newline (the expiry is digits only: the split is unambiguous)
    return createHmac('sha256', secret).update(`${scope}${expires}`).digest('base64url')
  }
}

interface PreviousSecret { readonly secret: Buffer; readonly scope: string; readonly until: number }
interface LongerWindow { readonly ms: number; readonly until: number }

/** RFC 6265 allows a cookie value in double quotes. */
function unquote (value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
}
