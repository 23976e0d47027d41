// Read-your-writes (src/release/read-after-write.ts): each subtest is one behaviour, named as its file was.
import t from 'tap'
import { MAX_PREVIOUS_SECRETS, ReadAfterWrite, type ReadAfterWriteOptions } from '../../src/release/read-after-write.ts'
import { mulberry32 } from './prng.ts'
import { createHmac } from 'node:crypto'
import { parseSetCookie } from 'cookie'

// A reload that changes the read-your-writes secret keeps accepting tokens of earlier secrets for as long as those
// tokens can be valid, up to MAX_PREVIOUS_SECRETS of them. An earlier secret whose grace is already over must not
// take one of those slots: if it did, a few quick secret changes made while stickyAfterWriteMs was short would push
// out an older secret whose tokens (minted under a long stickyAfterWriteMs) are still valid, and every client pinned
// by one would read a lagging replica. Pins src/release/read-after-write.ts #gracesAfter's `now < grace.until`
// (line 107): only graces still running are carried to the successor.
t.test('release-read-after-write-expired-graces-free-slots', async (t) => {
  const T0 = 1_750_000_000_000

  t.test('expired earlier secrets do not crowd out one still in its grace', async (t) => {
    const clock = { now: T0 }
    const make = (secret: string, stickyAfterWriteMs: number, previous?: ReadAfterWrite): ReadAfterWrite =>
      new ReadAfterWrite({ secret, stickyAfterWriteMs, maxClockSkewMs: 1000, routePath: '/m', now: () => clock.now, ...(previous ? { previous } : {}) })
    // secret A under a one-minute window: its token is valid until T0 + 60 s, its grace until T0 + 61 s
    let current = make('secret A, long window', 60_000)
    const tokenA = current.token()
    // then MAX_PREVIOUS_SECRETS changes under a 100 ms window, 2 s apart: each of those secrets' grace (1.1 s) is over
    // by the next change
    for (let i = 0; i < MAX_PREVIOUS_SECRETS; i++) {
      current = make(`secret ${i}, short window`, 100, current)
      clock.now += 2000
    }
    // the last change restores the long window: A's token fits it again and A is still within its grace
    current = make('secret Z, long window again', 60_000, current)
    t.ok(clock.now < T0 + 60_000, 'A\'s token has not expired')
    t.equal(current.pinnedToPrimary(undefined, tokenA), true, 'A\'s token (header) still pins')
    t.equal(current.pinnedToPrimary(`sy_rw=${tokenA}`, undefined), true, 'A\'s token (cookie) still pins')
    clock.now = T0 + 60_000
    t.equal(current.pinnedToPrimary(undefined, tokenA), false, 'and stops when it expires')
  })
})

// Property: no Cookie header or x-read-after-write value that the gateway did not sign (or that is not a
// recent write time) pins a read, and none makes pinnedToPrimary throw.
t.test('release-read-after-write-garbage', async (t) => {
  const T0 = 1_750_000_000_000
  const r = new ReadAfterWrite({ secret: 'garbage test secret', stickyAfterWriteMs: 5000, routePath: '/orders', now: () => T0 })
  const valid = r.setCookieHeader().split(';')[0]! // sy_rw=<expiry>.<signature>
  const [expiry, signature] = valid.slice('sy_rw='.length).split('.') as [string, string]

  // Pieces that make garbage look like the real thing; no sequence of them spells the valid token
  // (the signature's 22nd character is left out).
  const PIECES = [
    'sy_rw', 'sy_rw=', '=', ';', '; ', '"', '.', ',', ' ', '\t', '\r\n', '\u0000', '\u007f', '%', '%2E', '\\',
    expiry, `${expiry}.`, signature.slice(0, 21), signature.slice(22), String(T0 + 5000), '-', '+', 'e', 'NaN', 'Infinity',
    '0', '9999999999999999', 'é', 'ñ', '\u00ff', '\u2028', '日本', '\uD834\uDD1E', '\uD800', '\uDFFF', '\uFEFF',
  ]

  function garbage (random: () => number): string {
    const parts: string[] = []
    const n = Math.floor(random() * 24)
    for (let i = 0; i < n; i++) {
      if (random() < 0.6) parts.push(PIECES[Math.floor(random() * PIECES.length)]!)
      else parts.push(String.fromCharCode(Math.floor(random() * 0x3000))) // any UTF-16 unit, including controls
    }
    return parts.join('')
  }

  t.test('random garbage never pins and never throws', async (t) => {
    const random = mulberry32(20_240_601)
    const pinned: string[] = []
    for (let i = 0; i < 20_000; i++) {
      const cookie = garbage(random)
      const header = garbage(random)
      if (r.pinnedToPrimary(cookie, header)) pinned.push(JSON.stringify([cookie, header]))
      if (r.pinnedToPrimary(`a=1; ${cookie}; b=2`, undefined)) pinned.push(JSON.stringify([cookie]))
    }
    t.same(pinned, [], 'nothing pinned')
  })

  t.test('forged tokens of the right shape never pin', async (t) => {
    const random = mulberry32(99)
    const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const accepted: string[] = []
    for (let i = 0; i < 5000; i++) {
      const forgedExpiry = T0 + Math.floor(random() * 20_000) - 10_000 // about a third inside the accepted range
      const forgedSignature = Array.from({ length: 43 }, () => BASE64URL[Math.floor(random() * 64)]).join('')
      const cookie = `${garbage(random)}; sy_rw=${forgedExpiry}.${forgedSignature}; ${garbage(random)}`
      if (r.pinnedToPrimary(cookie, undefined)) accepted.push(cookie)
    }
    t.same(accepted, [])
  })

  t.test('every truncation of a valid cookie is refused', async (t) => {
    t.equal(r.pinnedToPrimary(valid, undefined), true, 'the whole cookie pins')
    const accepted: number[] = []
    for (let len = 0; len < valid.length; len++) if (r.pinnedToPrimary(valid.slice(0, len), undefined)) accepted.push(len)
    t.same(accepted, [])
  })

  t.test('random one-character edits of a valid cookie value are refused', async (t) => {
    const random = mulberry32(7)
    const value = valid.slice('sy_rw='.length)
    const accepted: string[] = []
    for (let i = 0; i < 5000; i++) {
      const at = Math.floor(random() * value.length)
      let edited: string
      if (random() < 0.5) {
        edited = value.slice(0, at) + value.slice(at + 1) // deletion
      } else {
        let c: string
        do c = String.fromCharCode(33 + Math.floor(random() * 94)); while (c === value[at])
        edited = value.slice(0, at) + c + value.slice(at + 1) // substitution by another printable character
      }
      if (r.pinnedToPrimary(`sy_rw=${edited}`, undefined)) accepted.push(edited)
    }
    t.same(accepted, [])
  })

  t.test('huge inputs are refused', async (t) => {
    t.equal(r.pinnedToPrimary(`sy_rw=${'9'.repeat(1_000_000)}`, '1'.repeat(1_000_000)), false)
    t.equal(r.pinnedToPrimary(`${'sy_rw=x; '.repeat(100_000)}${valid}`, undefined), false, 'a valid cookie after 900 KB of look-alikes is not read')
    t.equal(r.pinnedToPrimary(`${valid}; ${'sy_rw=x; '.repeat(100_000)}`, undefined), true, 'one at the start is')
  })
})

// Replicas' clocks differ by up to maxClockSkewMs, so a token minted by a replica whose clock is ahead expires up to
// stickyAfterWriteMs + maxClockSkewMs after "now" here, and this replica honours it that long. A reload that changes
// the secret must keep the previous secret for that whole time: otherwise a client pinned by the fast replica just
// before the reload reads a lagging replica for the last maxClockSkewMs of its window. Pins
// src/release/read-after-write.ts #gracesAfter's `until: now + this.#stickyMs + this.#skewMs` (line 109).
t.test('release-read-after-write-grace-covers-skew', async (t) => {
  const T0 = 1_750_000_000_000

  t.test('a previous secret is accepted for stickyAfterWriteMs + maxClockSkewMs after the change', async (t) => {
    const here = { now: T0 }
    const opts = { stickyAfterWriteMs: 5000, maxClockSkewMs: 1000, routePath: '/m' }
    // another replica, 900 ms ahead, with the old secret
    const fast = new ReadAfterWrite({ ...opts, secret: 'the old secret of every replica', now: () => here.now + 900 })
    const old = new ReadAfterWrite({ ...opts, secret: 'the old secret of every replica', now: () => here.now })
    const token = fast.token() // expires at T0 + 5900
    t.equal(old.pinnedToPrimary(undefined, token), true, 'within the skew: accepted before the reload')
    const reloaded = new ReadAfterWrite({ ...opts, secret: 'the new secret after the reload', now: () => here.now, previous: old })
    const cases: [at: number, pinned: boolean][] = [
      [T0, true],
      [T0 + 4999, true],
      [T0 + 5000, true], // past stickyAfterWriteMs, within the skew
      [T0 + 5899, true],
      [T0 + 5900, false], // the token's own expiry
    ]
    for (const [at, pinned] of cases) {
      here.now = at
      t.equal(reloaded.pinnedToPrimary(undefined, token), pinned, `T0 + ${at - T0} ms → ${pinned ? 'pinned' : 'not pinned'}`)
    }
  })
})

// After reloads, tokens of every earlier secret still in its grace keep pinning, up to MAX_PREVIOUS_SECRETS distinct
// earlier secrets. The slots hold distinct secrets other than the current one: a reload that leaves the secret as it
// is (most reloads: a new route, a weight) must not spend a slot on the current secret, and a secret that comes back
// (a bad key change rolled back, then made again) must not take two. Either would push out the oldest secret while
// its tokens are still valid, and send the clients it pinned to a lagging replica.
// Pins src/release/read-after-write.ts #gracesAfter (line 107): `!grace.secret.equals(secret)`. (The rows that bring a
// secret back also hold for the `!graces.some(...)` dedupe on that line, which that filter already makes redundant.)
t.test('release-read-after-write-grace-slots-distinct', async (t) => {
  const T0 = 1_750_000_000_000

  t.test('reload sequences that name at most MAX_PREVIOUS_SECRETS + 1 secrets keep every token pinning', async (t) => {
    t.equal(MAX_PREVIOUS_SECRETS, 4, 'the sequences below are written for 4 slots')
    const s = (n: string): string => `secret ${n} of the read-your-writes series`
    const cases: [label: string, sequence: string[]][] = [
      ['five secrets, then a reload keeping the last', ['1', '2', '3', '4', '5', '5']],
      ['five secrets, then three reloads keeping the last', ['1', '2', '3', '4', '5', '5', '5', '5']],
      ['a change rolled back and made again', ['1', '2', '3', '2', '3', '4', '5']],
      ['flip-flopping between two', ['1', 'A', 'B', 'A', 'B', 'A', 'B']],
    ]
    for (const [label, sequence] of cases) {
      const clock = { now: T0 }
      const tokens = new Map<string, string>()
      let current: ReadAfterWrite | undefined
      for (const name of sequence) {
        current = new ReadAfterWrite({ secret: s(name), stickyAfterWriteMs: 60_000, routePath: '/m', now: () => clock.now, ...(current ? { previous: current } : {}) })
        if (!tokens.has(name)) tokens.set(name, current.token())
        clock.now += 100
      }
      for (const [name, token] of tokens) t.equal(current!.pinnedToPrimary(undefined, token), true, `${label}: secret ${name}'s token still pins`)
    }
  })
})

// A reload that changes the read-your-writes secret keeps accepting tokens signed with the previous one for as long
// as they can still be valid (the previous stickyAfterWriteMs and the clock skew from the change), so a key change
// does not send every client pinned by a recent write to a replica at once. Before, every pin was dropped.
// New tokens are signed with the new secret only; the old one is forgotten once its last token has expired, and a
// reload that leaves the secret alone within that window keeps the grace.
t.test('release-read-after-write-key-change', async (t) => {
  const T0 = 1_750_000_000_000
  const OLD = 'the secret before the change'
  const NEW = 'the secret after the change!'

  function raw (clock: { now: number }, options: Partial<ReadAfterWriteOptions> = {}): ReadAfterWrite {
    return new ReadAfterWrite({ secret: OLD, stickyAfterWriteMs: 5000, maxClockSkewMs: 1000, routePath: '/orders', now: () => clock.now, ...options })
  }

  t.test("tokens of the previous secret pin until its window and skew have passed, then nothing of it is accepted", async (t) => {
    const clock = { now: T0 }
    const before = raw(clock)
    const oldToken = before.token()
    clock.now = T0 + 1000
    const after = raw(clock, { secret: NEW, previous: before })
    // [ms after the change, pinned?]: the token expires at T0 + 5000
    const cases: [number, boolean][] = [[0, true], [3999, true], [4000, false]]
    for (const [ms, pinned] of cases) {
      clock.now = T0 + 1000 + ms
      t.equal(after.pinnedToPrimary(undefined, oldToken), pinned, `header, ${ms} ms after the change`)
      t.equal(after.pinnedToPrimary(`sy_rw=${oldToken}`, undefined), pinned, `cookie, ${ms} ms after the change`)
    }
    clock.now = T0 + 2000
    const fresh = after.token()
    t.equal(raw(clock, { secret: NEW }).pinnedToPrimary(undefined, fresh), true, 'new tokens are signed with the new secret')
    t.equal(raw(clock).pinnedToPrimary(undefined, fresh), false, 'and not with the old one')
  })

  t.test('the previous secret is kept only for its window: a token minted (or forged) later with it is refused', async (t) => {
    const clock = { now: T0 }
    const before = raw(clock)
    const after = raw(clock, { secret: NEW, previous: before })
    clock.now = T0 + 6001 // past 5000 + 1000 of skew
    const late = raw(clock).token() // signed with the old secret, valid on its own terms
    t.equal(after.pinnedToPrimary(undefined, late), false)
  })

  t.test('a reload that leaves the secret alone keeps the grace of an earlier change; one with the same secret gives none', async (t) => {
    const clock = { now: T0 }
    const first = raw(clock)
    const oldToken = first.token()
    const changed = raw(clock, { secret: NEW, previous: first })
    clock.now = T0 + 1000
    const reloadedAgain = raw(clock, { secret: NEW, previous: changed })
    t.equal(reloadedAgain.pinnedToPrimary(undefined, oldToken), true, 'still within the window of the change')
    clock.now = T0 + 6000
    t.equal(raw(clock, { secret: NEW, previous: reloadedAgain }).pinnedToPrimary(undefined, oldToken), false, 'expired meanwhile')
    const unchanged = raw(clock, { previous: raw(clock) })
    t.equal(unchanged.pinnedToPrimary(undefined, raw(clock, { secret: NEW }).token()), false, 'no other secret accepted')
  })

  t.test('a change back to an earlier secret: the tokens of the one in between are the previous ones now', async (t) => {
    const clock = { now: T0 }
    const a = raw(clock)
    const b = raw(clock, { secret: NEW, previous: a })
    const bToken = b.token()
    const backToA = raw(clock, { previous: b })
    t.equal(backToA.pinnedToPrimary(undefined, bToken), true, "b's tokens are the previous secret's now")
    t.equal(backToA.pinnedToPrimary(undefined, a.token()), true)
  })
})

// A read-after-write token is signed for the route's id (host, path, methods, headers), not its path alone: a
// token from a write on a.example/m pins nothing on b.example/m, though both cookies have Path=/m. Before, the
// two routes accepted each other's tokens. A route matched by its path alone signs the path as before, so during a
// rolling upgrade replicas of either version accept each other's tokens for it.
t.test('release-read-after-write-route-id', async (t) => {
  const SECRET = 'a-shared-secret-of-32-characters!!'
  const NOW = 1_750_000_000_000
  const raw = (routeId?: string): ReadAfterWrite =>
    new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 30_000, routePath: '/m', ...(routeId !== undefined ? { routeId } : {}), now: () => NOW })

  t.test('a token pins only the route it was signed for', async (t) => {
    const a = raw('a.example/m')
    const b = raw('b.example/m')
    const token = a.token()
    t.equal(a.pinnedToPrimary(undefined, token), true, 'a.example/m: pinned')
    t.equal(a.pinnedToPrimary(`sy_rw=${token}`, undefined), true, 'a.example/m: pinned by the cookie too')
    t.equal(b.pinnedToPrimary(undefined, token), false, 'b.example/m: not pinned by a.example/m\'s token')
    t.equal(b.pinnedToPrimary(`sy_rw=${token}`, undefined), false, 'nor by its cookie')
    t.equal(raw('a.example/m [POST]').pinnedToPrimary(undefined, token), false, 'another route on the same host and path')
    t.equal(raw().pinnedToPrimary(undefined, token), false, 'the route of any host')
    t.match(a.setCookieHeader(token), /; Path=\/m;/, 'the cookie\'s Path is the route path')
  })

  t.test('a route matched by its path alone signs its path, as tokens did before', async (t) => {
    const byPath = raw('*/m')
    t.equal(byPath.pinnedToPrimary(undefined, raw().token()), true, 'the default route id is the path-only route\'s')
    t.equal(raw().pinnedToPrimary(undefined, byPath.token()), true)
  })
})

// Every earlier read-your-writes secret still within its grace is accepted after a reload changes the secret, not
// only the last one: a second change within the window keeps the pins made under the first. Before, the second
// change dropped the first secret, and every client pinned under it went to a replica while its write could still
// be missing there. At most MAX_PREVIOUS_SECRETS earlier secrets are kept (the newest).
t.test('release-read-after-write-secret-rotations', async (t) => {
  const T0 = 1_750_000_000_000

  t.test('tokens of two changes ago pin until their own grace ends', async (t) => {
    const clock = { now: T0 }
    const make = (secret: string, previous?: ReadAfterWrite): ReadAfterWrite =>
      new ReadAfterWrite({ secret, stickyAfterWriteMs: 5000, maxClockSkewMs: 1000, routePath: '/m', now: () => clock.now, ...(previous ? { previous } : {}) })
    const a = make('secret A of the first config')
    const tokenA = a.token() // expires at T0 + 5000
    clock.now = T0 + 1000
    const b = make('secret B of the second config', a) // A accepted until T0 + 7000
    const tokenB = b.token()
    clock.now = T0 + 2000
    const c = make('secret C of the third config', b)
    t.equal(c.pinnedToPrimary(undefined, tokenA), true, 'A\'s token, after a second change')
    t.equal(c.pinnedToPrimary(`sy_rw=${tokenB}`, undefined), true, 'B\'s token')
    clock.now = T0 + 4999
    t.equal(c.pinnedToPrimary(undefined, tokenA), true, 'until it expires')
    clock.now = T0 + 7000
    t.equal(c.pinnedToPrimary(undefined, new ReadAfterWrite({ secret: 'secret A of the first config', stickyAfterWriteMs: 5000, routePath: '/m', now: () => clock.now }).token()), false,
      'A is forgotten once its grace is over')
  })

  t.test(`at most ${MAX_PREVIOUS_SECRETS} earlier secrets are kept, the newest`, async (t) => {
    const now = T0
    const secrets = Array.from({ length: MAX_PREVIOUS_SECRETS + 2 }, (_, i) => `secret number ${i} of the series`)
    const tokens: string[] = []
    let current: ReadAfterWrite | undefined
    for (const secret of secrets) {
      current = new ReadAfterWrite({ secret, stickyAfterWriteMs: 60_000, routePath: '/m', now: () => now, ...(current ? { previous: current } : {}) })
      tokens.push(current.token())
    }
    const pinned = tokens.map((token) => current!.pinnedToPrimary(undefined, token))
    t.strictSame(pinned, [false, ...Array(MAX_PREVIOUS_SECRETS + 1).fill(true)], 'the oldest is dropped; the rest and the current pin')
  })
})

// In a rolling upgrade, replicas of the previous version and this one serve one split route side by side and must
// accept each other's read-your-writes tokens. Routes matched by their path alone sign exactly what tokens were signed
// with before routes were signed by id: HMAC-SHA256(secret, "sy_rw v1\n" + path + "\n" + expiry), base64url. Any
// other route (host, methods or headers) signs its id instead, which never starts with '/'. Pins
// src/release/read-after-write.ts's scope (line 96: `routeId === `*${routePath}` ? routePath : routeId`).
t.test('release-read-after-write-token-wire-format', async (t) => {
  const NOW = 1_750_000_000_000
  const SECRET = 'a shared secret of every replica'
  const sign = (scope: string, expires: number): string => createHmac('sha256', SECRET).update(`sy_rw v1\n${scope}\n${expires}`).digest('base64url')

  t.test('tokens are signed over the path (path-only routes) or the route id (others)', async (t) => {
    const cases: [routePath: string, routeId: string | undefined, signed: string][] = [
      ['/orders', undefined, '/orders'],
      ['/orders', '*/orders', '/orders'], // the id of a path-only route: still the path alone
      ['/orders', 'api.example.com/orders', 'api.example.com/orders'],
      ['/orders', '*/orders [POST]', '*/orders [POST]'],
    ]
    for (const [routePath, routeId, signed] of cases) {
      const raw = new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 3000, routePath, now: () => NOW, ...(routeId === undefined ? {} : { routeId }) })
      const expires = NOW + 3000
      t.equal(raw.token(), `${expires}.${sign(signed, expires)}`, `${routeId ?? '(no id)'} signs ${JSON.stringify(signed)}`)
      // and a token an older replica minted the same way pins here
      t.equal(raw.pinnedToPrimary(undefined, `${expires - 1}.${sign(signed, expires - 1)}`), true, `${routeId ?? '(no id)'} accepts it`)
    }
  })
})

// A reload that shortens stickyAfterWriteMs keeps pinning the writes made just before it: a token minted under the
// longer window pins to its own expiry (reads to the primary are always consistent; a replica is not, so soon after
// a write). Before, every such token was refused at once, as expiring further away than the new window allows,
// and a client's read right after its own write went to a replica. New tokens get the new window, the longer one
// is forgotten once its last token has expired, and a token claiming more than the longer window is refused.
t.test('release-read-after-write-window-shortened', async (t) => {
  const T0 = 1_750_000_000_000
  const SECRET = 'one secret throughout the reloads'

  function raw (clock: { now: number }, options: Partial<ReadAfterWriteOptions> = {}): ReadAfterWrite {
    return new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 3000, maxClockSkewMs: 1000, routePath: '/orders', now: () => clock.now, ...options })
  }

  t.test("a write's token minted under the longer window pins to its own expiry after a reload shortens the window", async (t) => {
    const clock = { now: T0 }
    const before = raw(clock)
    const token = before.token() // expires at T0 + 3000
    clock.now = T0 + 100
    const after = raw(clock, { stickyAfterWriteMs: 600, previous: before })
    // [ms after the write, pinned?]
    const cases: [number, boolean][] = [[100, true], [275, true], [2999, true], [3000, false]]
    for (const [ms, pinned] of cases) {
      clock.now = T0 + ms
      t.equal(after.pinnedToPrimary(undefined, token), pinned, `header, ${ms} ms after the write`)
      t.equal(after.pinnedToPrimary(`sy_rw=${token}`, undefined), pinned, `cookie, ${ms} ms after the write`)
    }
  })

  t.test('the longer window is kept through a further reload, and forgotten once its tokens can no longer be valid', async (t) => {
    const clock = { now: T0 }
    const first = raw(clock)
    const token = first.token()
    const shortened = raw(clock, { stickyAfterWriteMs: 600, previous: first })
    clock.now = T0 + 1000
    const again = raw(clock, { stickyAfterWriteMs: 600, previous: shortened })
    t.equal(again.pinnedToPrimary(undefined, token), true, 'kept by a reload that leaves the window alone')
    clock.now = T0 + 4001 // past the longer window and the skew from the change
    const later = raw(clock, { stickyAfterWriteMs: 600, previous: again })
    // a token minted now under the old window, with the same secret, expires beyond the current window
    const late = raw(clock).token()
    t.equal(later.pinnedToPrimary(undefined, late), false, 'forgotten: a token claiming the old window is refused')
    t.equal(again.pinnedToPrimary(undefined, late), false, 'and refused by the plan before, its grace over too')
  })

  t.test('new tokens get the new window; none claims more than the longer one', async (t) => {
    const clock = { now: T0 }
    const before = raw(clock)
    const after = raw(clock, { stickyAfterWriteMs: 600, previous: before })
    const fresh = after.token()
    clock.now = T0 + 600
    t.equal(after.pinnedToPrimary(undefined, fresh), false, 'a new token ends with the new window')
    clock.now = T0
    const tooLong = raw(clock, { stickyAfterWriteMs: 10_000 }).token()
    t.equal(after.pinnedToPrimary(undefined, tooLong), false, 'a token past the longer window and the skew is refused')
  })
})

t.test('release-read-after-write', async (t) => {
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
      [`${token}, ${token}`, true], // two lines joined, or a list: any valid one counts
      [`${String(T0)},${token}`, true],
      [raw({ routePath: '/other' }).token(), false],
      [raw({ secret: 'another secret of some length' }).token(), false],
      [raw({ stickyAfterWriteMs: 60_000 }).token(), false], // further away than the window
      [raw({}, { now: T0 - 5000 }).token(), false], // expired
      ['', false],
      ['١٧٥٠٠٠٠٠٠٠٠٠٠.' + signature, false], // Arabic-Indic digits
      [`${' '.repeat(10)}${token}`, true],
      [`${' '.repeat(200)}${token}`, false], // longer than 4 tokens with room around them: not read
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

  t.test('the limits on what is read are exact: 8 KiB of Cookie header, 256 characters of x-read-after-write', async (t) => {
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
    t.equal(r.pinnedToPrimary(undefined, padded(256)), true, '256 characters (room for 4 tokens): read')
    t.equal(r.pinnedToPrimary(undefined, padded(257)), false, '257 characters: refused unread')
  })
})

// #headerPins): x-read-after-write may list tokens, and any valid one among its first MAX_SIGNATURE_CHECKS (4) items
// pins, as with cookies; an item past the fourth is not read, so a client cannot buy more signature checks per
// request by padding the list with empty or junk items (the 256-character bound alone leaves room for many).
t.test('read-after-write-header-list-bound', async (t) => {
  t.test('x-read-after-write: a valid token among its first 4 items pins, one past them does not', async (t) => {
    const T0 = 1_750_000_000_000
    const r = new ReadAfterWrite({ secret: 'a-shared-secret-of-32-characters!!', stickyAfterWriteMs: 5000, maxClockSkewMs: 1000, routePath: '/m', now: () => T0 })
    const token = r.token()
    const list = (before: number): string => `${'x,'.repeat(before)}${token}`
    t.equal(r.pinnedToPrimary(undefined, list(3)), true, 'the fourth item: read, pins')
    t.equal(list(4).length <= 256, true, 'within the header bound')
    t.equal(r.pinnedToPrimary(undefined, list(4)), false, 'the fifth item: not read')
    t.equal(r.pinnedToPrimary(undefined, `,,,,${token}`), false, 'empty items count too')
    t.equal(r.pinnedToPrimary(undefined, `,,,${token}`), true)
  })
})
