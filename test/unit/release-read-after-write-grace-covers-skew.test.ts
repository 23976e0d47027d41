// Replicas' clocks differ by up to maxClockSkewMs, so a token minted by a replica whose clock is ahead expires up to
// stickyAfterWriteMs + maxClockSkewMs after "now" here, and this replica honours it that long. A reload that changes
// the secret must keep the previous secret for that whole time: otherwise a client pinned by the fast replica just
// before the reload reads a lagging replica for the last maxClockSkewMs of its window. Pins
// src/release/read-after-write.ts #gracesAfter's `until: now + this.#stickyMs + this.#skewMs` (line 109).
import t from 'tap'
import { ReadAfterWrite } from '../../src/release/read-after-write.ts'

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
