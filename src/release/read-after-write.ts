// Read-your-writes for read/write split routes: after a client's successful write, its reads on the same
// route go to the primary pool for stickyAfterWriteMs, so it never reads a replica that lags behind its write.
//
// Browsers carry this in cookie sy_rw = "<expiry epoch ms>.<HMAC-SHA256(secret, route path + expiry)>".
// Stateless: any replica with the same secret accepts it; the route is signed in, so /a's cookie never pins /b.
// It pins only while now < expiry ≤ now + stickyAfterWriteMs + maxClockSkewMs, so neither a stale cookie
// nor one minted under a longer stickyAfterWriteMs outlives the current setting.
//
// Other clients send `x-read-after-write: <epoch ms of their write>` (unsigned; writeTimeHeaderValue() gives
// the gateway's own clock to echo). It pins while value ≤ now + maxClockSkewMs and now < value + stickyAfterWriteMs:
// one value pins for stickyAfterWriteMs at most, never forever. A client can still pin every read by sending a
// fresh time each time — the same as claiming a write every time; callers that must prevent it ignore the header.
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
const MAX_HEADER_VALUE = 32
/** Expiry (up to 15 digits, no leading zero: one spelling per expiry) and a base64url SHA-256 signature. */
const TOKEN = /^([1-9]\d{0,14})\.([A-Za-z0-9_-]{43})$/
const EPOCH_MS = /^\d{1,15}$/
/** What a cookie's Path attribute can carry (RFC 6265 path-value), starting with '/'. */
const COOKIE_PATH = /^\/[\x20-\x3A\x3C-\x7E]*$/

export interface ReadAfterWriteOptions {
  secret: string | Buffer
  stickyAfterWriteMs: number
  /** The split route's path prefix: the cookie's Path and part of what is signed. */
  routePath: string
  /** Tolerated clock difference between replicas (cookie) or between client and gateway (header). */
  maxClockSkewMs?: number
  /** Adds Secure to the cookie (when clients reach the gateway over HTTPS). */
  secure?: boolean
  /** Epoch milliseconds; must agree across replicas, so a wall clock. */
  now?: () => number
}

export class ReadAfterWrite {
  readonly #secret: Buffer
  readonly #stickyMs: number
  readonly #routePath: string
  readonly #skewMs: number
  readonly #secure: boolean
  readonly #maxAgeSeconds: number
  readonly #now: () => number

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
  }

  /** The Set-Cookie value for a successful write (status < 400) through the route. */
  setCookieHeader (): string {
    const expires = Math.floor(this.#now()) + this.#stickyMs
    return stringifySetCookie({
      name: READ_AFTER_WRITE_COOKIE,
      value: `${expires}.${this.#sign(expires)}`,
      path: this.#routePath,
      maxAge: this.#maxAgeSeconds,
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#secure,
    })
  }

  /** The gateway's time of a successful write, for non-browser clients to send back as x-read-after-write. */
  writeTimeHeaderValue (): string {
    return String(Math.floor(this.#now()))
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
    if (!(now < expires && expires <= now + this.#stickyMs + this.#skewMs)) return false
    // both sides are 43 ASCII characters (the pattern guarantees it), as timingSafeEqual requires
    return timingSafeEqual(Buffer.from(signature, 'latin1'), Buffer.from(this.#sign(expires), 'latin1'))
  }

  #headerPins (value: string | undefined, now: number): boolean {
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE) return false
    const text = value.trim()
    if (!EPOCH_MS.test(text)) return false
    const wroteAt = Number(text)
    return wroteAt <= now + this.#skewMs && now < wroteAt + this.#stickyMs
  }

  #sign (expires: number): string {
    // the route and the expiry, separated by a byte a cookie path cannot contain
    return createHmac('sha256', this.#secret).update(`sy_rw v1\n${this.#routePath}\n${expires}`).digest('base64url')
  }
}

/** RFC 6265 allows a cookie value in double quotes. */
function unquote (value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
}
