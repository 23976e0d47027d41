// A reload that changes the read-your-writes secret keeps accepting tokens of earlier secrets for as long as those
// tokens can be valid, up to MAX_PREVIOUS_SECRETS of them. An earlier secret whose grace is already over must not
// take one of those slots: if it did, a few quick secret changes made while stickyAfterWriteMs was short would push
// out an older secret whose tokens (minted under a long stickyAfterWriteMs) are still valid, and every client pinned
// by one would read a lagging replica. Pins src/release/read-after-write.ts #gracesAfter's `now < grace.until`
// (line 107): only graces still running are carried to the successor.
import t from 'tap'
import { MAX_PREVIOUS_SECRETS, ReadAfterWrite } from '../../src/release/read-after-write.ts'

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
