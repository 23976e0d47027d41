// A reload that shortens stickyAfterWriteMs keeps pinning the writes made just before it: a token minted under the
// longer window pins to its own expiry (reads to the primary are always consistent; a replica is not, so soon after
// a write). Before, every such token was refused at once, as expiring further away than the new window allows,
// and a client's read right after its own write went to a replica. New tokens get the new window, the longer one
// is forgotten once its last token has expired, and a token claiming more than the longer window is refused.
import t from 'tap'
import { ReadAfterWrite, type ReadAfterWriteOptions } from '../../src/release/read-after-write.ts'

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
