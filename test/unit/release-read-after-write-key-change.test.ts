// A reload that changes the read-your-writes secret keeps accepting tokens signed with the previous one for as long
// as they can still be valid (the previous stickyAfterWriteMs and the clock skew from the change), so a key change
// does not send every client pinned by a recent write to a replica at once. Before, every pin was dropped.
// New tokens are signed with the new secret only; the old one is forgotten once its last token has expired, and a
// reload that leaves the secret alone within that window keeps the grace.
import t from 'tap'
import { ReadAfterWrite, type ReadAfterWriteOptions } from '../../src/release/read-after-write.ts'

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
