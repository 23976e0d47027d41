import { parseSetCookie } from 'cookie'
import t from 'tap'
import { ReadAfterWrite, type ReadAfterWriteOptions } from '../../src/release/read-after-write.ts'

const T0 = 1_750_000_000_000
const SECRET = 'a test secret of reasonable length'

interface Clock { now: number }

function raw (options: Partial<ReadAfterWriteOptions> = {}, clock: Clock = { now: T0 }): ReadAfterWrite {
  return new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 5000, routePath: '/orders', now: () => clock.now, ...options })
}

/** The Cookie request header a browser sends back for a Set-Cookie value. */
function cookieFrom (setCookie: string): string {
  return setCookie.slice(0, setCookie.indexOf(';'))
}

t.test('a successful write sets a signed, route-scoped cookie', async (t) => {
  const cases: [stickyMs: number, maxAge: number][] = [[5000, 5], [5001, 6], [1, 1], [999, 1], [60_000, 60]]
  for (const [stickyAfterWriteMs, maxAge] of cases) {
    const header = raw({ stickyAfterWriteMs }).setCookieHeader()
    const parsed = parseSetCookie(header)
    t.match(parsed, { name: 'sy_rw', path: '/orders', httpOnly: true, sameSite: 'lax', maxAge }, `${stickyAfterWriteMs} ms`)
    t.notOk(parsed.secure)
    t.match(parsed.value, /^\d+\.[A-Za-z0-9_-]{43}$/, 'expiry.signature')
    t.equal(Number(parsed.value!.split('.')[0]), T0 + stickyAfterWriteMs, 'expiry = write time + stickyAfterWriteMs')
  }
  t.ok(parseSetCookie(raw({ secure: true }).setCookieHeader()).secure, 'Secure when asked')
})

t.test('the cookie pins reads on its route until it expires', async (t) => {
  const clock = { now: T0 }
  const r = raw({}, clock)
  const cookie = cookieFrom(r.setCookieHeader())
  // [ms after the write, pinned?]
  const cases: [after: number, pinned: boolean][] = [[0, true], [1, true], [4999, true], [5000, false], [5001, false], [3_600_000, false]]
  for (const [after, pinned] of cases) {
    clock.now = T0 + after
    t.equal(r.pinnedToPrimary(cookie, undefined), pinned, `${after} ms after the write`)
    t.equal(r.pinnedToPrimary(`theme=dark; ${cookie}; lang="en"`, undefined), pinned, `among other cookies, ${after} ms`)
  }
})

t.test('replicas with the same secret agree; another secret or route does not', async (t) => {
  const cookie = cookieFrom(raw().setCookieHeader())
  const cases: [name: string, options: Partial<ReadAfterWriteOptions>, pinned: boolean][] = [
    ['another replica, same secret', {}, true],
    ['the secret as a Buffer', { secret: Buffer.from(SECRET) }, true],
    ['a different secret', { secret: 'another secret' }, false],
    ['a secret one byte longer', { secret: `${SECRET}!` }, false],
    ['a different route', { routePath: '/payments' }, false],
    ['a parent route', { routePath: '/' }, false],
    ['a child route', { routePath: '/orders/archive' }, false],
    ['a route differing in case', { routePath: '/Orders' }, false],
  ]
  for (const [name, options, pinned] of cases) t.equal(raw(options).pinnedToPrimary(cookie, undefined), pinned, name)
})

t.test('replica clocks may differ by maxClockSkewMs', async (t) => {
  const cookie = cookieFrom(raw().setCookieHeader()) // expires T0 + 5000
  const cases: [replicaClock: number, skewMs: number | undefined, pinned: boolean][] = [
    [T0 - 1000, undefined, true], // default skew 1 s: expiry 6 s away is accepted
    [T0 - 1001, undefined, false], // further than stickyAfterWriteMs + skew: refused
    [T0 - 3000, 3000, true],
    [T0 - 3001, 3000, false],
    [T0 - 1, 0, false],
    [T0, 0, true],
  ]
  for (const [now, maxClockSkewMs, pinned] of cases) {
    t.equal(raw({ maxClockSkewMs }, { now }).pinnedToPrimary(cookie, undefined), pinned, `replica at T0${now - T0}, skew ${maxClockSkewMs}`)
  }
})

t.test('a cookie minted under a longer stickyAfterWriteMs is capped by the current one', async (t) => {
  const long = cookieFrom(raw({ stickyAfterWriteMs: 60_000 }).setCookieHeader())
  t.equal(raw({ stickyAfterWriteMs: 60_000 }).pinnedToPrimary(long, undefined), true)
  t.equal(raw({ stickyAfterWriteMs: 5000 }).pinnedToPrimary(long, undefined), false, 'expiry 60 s away > 5 s + skew')
})

t.test('a tampered cookie is ignored', async (t) => {
  const r = raw()
  const value = cookieFrom(r.setCookieHeader()).slice('sy_rw='.length)
  const [expiry, signature] = value.split('.') as [string, string]
  const cases: [name: string, cookie: string][] = [
    ['expiry moved later', `sy_rw=${Number(expiry) + 1000}.${signature}`],
    ['expiry moved earlier', `sy_rw=${Number(expiry) - 1}.${signature}`],
    ['expiry with a leading zero', `sy_rw=0${expiry}.${signature}`],
    ['signature truncated', `sy_rw=${expiry}.${signature.slice(0, -1)}`],
    ['signature extended', `sy_rw=${expiry}.${signature}A`],
    ['signature in standard base64', `sy_rw=${expiry}.${Buffer.from(signature, 'base64url').toString('base64')}`],
    ['no signature', `sy_rw=${expiry}`],
    ['another name', `sy_rw2=${value}`],
    ['name in upper case', `SY_RW=${value}`],
  ]
  for (const [name, cookie] of cases) t.equal(r.pinnedToPrimary(cookie, undefined), false, name)
  let accepted = 0
  for (let i = 0; i < signature.length; i++) {
    const flipped = signature[i] === 'A' ? 'B' : 'A'
    if (r.pinnedToPrimary(`sy_rw=${expiry}.${signature.slice(0, i)}${flipped}${signature.slice(i + 1)}`, undefined)) accepted++
  }
  t.equal(accepted, 0, 'no one-character change of the signature is accepted')
})

t.test('several sy_rw cookies: any valid one for this route counts', async (t) => {
  const orders = raw()
  const mine = cookieFrom(orders.setCookieHeader())
  const parent = cookieFrom(raw({ routePath: '/' }).setCookieHeader())
  const child = cookieFrom(raw({ routePath: '/orders/archive' }).setCookieHeader())
  const expired = cookieFrom(raw({}, { now: T0 - 10_000 }).setCookieHeader())
  const cases: [name: string, header: string, pinned: boolean][] = [
    ['child route first (browsers send longer paths first)', `${child}; ${mine}`, true],
    ['own cookie first', `${mine}; ${parent}`, true],
    ['expired one first', `${expired}; ${mine}`, true],
    ['garbage one first', `sy_rw=nonsense; ${mine}`, true],
    ['empty one first', `sy_rw=; ${mine}`, true],
    ['quoted', mine.replace('sy_rw=', 'sy_rw="') + '"', true],
    ['only other routes', `${child}; ${parent}`, false],
    ['only expired', `${expired}; ${expired}`, false],
    ['spaces around the name and value', mine.replace('sy_rw=', '  sy_rw =  ') + '  ', true],
    ['no space after semicolons', `a=1;${mine};b=2`, true],
  ]
  for (const [name, header, pinned] of cases) t.equal(orders.pinnedToPrimary(header, undefined), pinned, name)
})

t.test('the work per request is bounded', async (t) => {
  const r = raw()
  const mine = cookieFrom(r.setCookieHeader())
  const lookAlike = cookieFrom(raw({ routePath: '/elsewhere' }).setCookieHeader())
  t.equal(r.pinnedToPrimary(`${lookAlike}; ${lookAlike}; ${lookAlike}; ${mine}`, undefined), true, '3 signature checks before it: still read')
  t.equal(r.pinnedToPrimary(`${lookAlike}; ${lookAlike}; ${lookAlike}; ${lookAlike}; ${mine}`, undefined), false, 'after 4 checks the rest is ignored')
  const padding = `pad=${'x'.repeat(8192)}`
  t.equal(r.pinnedToPrimary(`${mine}; ${padding}`, undefined), true, 'a long header with the cookie early')
  t.equal(r.pinnedToPrimary(`${padding}; ${mine}`, undefined), false, 'a cookie beyond the first 8 KiB is not read')
})

t.test('x-read-after-write carries the signed token of the write, and only that pins', async (t) => {
  const r = raw()
  const token = r.token() // expires T0 + 5000
  const [expiry, signature] = token.split('.') as [string, string]
  // [header value, pinned?] with now = T0, stickyAfterWriteMs 5 s, skew 1 s
  const cases: [value: string | undefined, pinned: boolean][] = [
    [undefined, false],
    [token, true],
    [` ${token} `, true],
    [String(T0), false], // a bare write time, as any client could send: no longer a pin
    [expiry, false],
    [`${Number(expiry) + 1}.${signature}`, false], // expiry moved
    [`${expiry}.${signature.slice(0, 42)}`, false],
    [`sy_rw=${token}`, false],
    [`${token}, ${token}`, false], // two headers joined
    [raw({ routePath: '/other' }).token(), false],
    [raw({ secret: 'another secret of some length' }).token(), false],
    [raw({ stickyAfterWriteMs: 60_000 }).token(), false], // further away than the window
    [raw({}, { now: T0 - 5000 }).token(), false], // expired
    ['', false],
    ['١٧٥٠٠٠٠٠٠٠٠٠٠.' + signature, false], // Arabic-Indic digits
    [`${' '.repeat(10)}${token}`, false], // longer than anything a client needs to send
  ]
  for (const [value, pinned] of cases) t.equal(r.pinnedToPrimary(undefined, value), pinned, JSON.stringify(value))
})

t.test('the header and the cookie are each enough', async (t) => {
  const clock = { now: T0 }
  const r = raw({}, clock)
  const token = r.token()
  const cookie = cookieFrom(r.setCookieHeader(token))
  t.equal(cookie, `sy_rw=${token}`, 'one token, in the cookie and in the header')
  clock.now = T0 + 2000
  t.equal(r.pinnedToPrimary(cookie, token), true)
  t.equal(r.pinnedToPrimary('sy_rw=bad', token), true, 'a bad cookie does not spoil a good header')
  t.equal(r.pinnedToPrimary(cookie, 'bad'), true, 'nor the reverse')
  t.equal(r.pinnedToPrimary(undefined, undefined), false)
  t.equal(r.pinnedToPrimary('', ''), false)
})

t.test('Secure per write: setCookieHeader(token, true)', async (t) => {
  const r = raw()
  t.ok(parseSetCookie(r.setCookieHeader(r.token(), true)).secure)
  t.notOk(parseSetCookie(r.setCookieHeader(r.token(), false)).secure)
})

t.test('invalid options are refused at build time', async (t) => {
  const cases: [name: string, options: Partial<ReadAfterWriteOptions>][] = [
    ['empty secret', { secret: '' }],
    ['empty Buffer secret', { secret: Buffer.alloc(0) }],
    ['stickyAfterWriteMs 0', { stickyAfterWriteMs: 0 }],
    ['stickyAfterWriteMs negative', { stickyAfterWriteMs: -1 }],
    ['stickyAfterWriteMs fractional', { stickyAfterWriteMs: 1.5 }],
    ['stickyAfterWriteMs NaN', { stickyAfterWriteMs: Number.NaN }],
    ['negative skew', { maxClockSkewMs: -1 }],
    ['relative route path', { routePath: 'orders' }],
    ['empty route path', { routePath: '' }],
    ['route path with ;', { routePath: '/a;b' }],
    ['route path with a newline', { routePath: '/a\nb' }],
    ['non-ASCII route path', { routePath: '/bestellungen/ä' }],
  ]
  for (const [name, options] of cases) t.throws(() => raw(options), RangeError, name)
})

t.test('the limits on what is read are exact: 8 KiB of Cookie header, 64 characters of x-read-after-write', async (t) => {
  // A browser with many cookies sends a long Cookie header; everything in its first 8192 characters is read, so a
  // client whose sy_rw ends right at that limit stays pinned (a shorter limit would send it to a lagging replica).
  // Likewise a header value of up to 64 characters, spaces around the token included, is read.
  const r = raw()
  const token = r.token()
  const mine = `sy_rw=${token}`
  const fill = (length: number): string => `pad=${'x'.repeat(length - mine.length - '; '.length - 'pad='.length)}; ${mine}`
  t.equal(fill(8192).length, 8192)
  t.equal(r.pinnedToPrimary(fill(8192), undefined), true, 'the cookie ends at character 8192: read')
  t.equal(r.pinnedToPrimary(fill(8193), undefined), false, 'one character further: cut off, not read')
  const padded = (length: number): string => `${' '.repeat(length - token.length)}${token}`
  t.equal(r.pinnedToPrimary(undefined, padded(64)), true, '64 characters: read')
  t.equal(r.pinnedToPrimary(undefined, padded(65)), false, '65 characters: refused unread')
})
