// After reloads, tokens of every earlier secret still in its grace keep pinning, up to MAX_PREVIOUS_SECRETS distinct
// earlier secrets. The slots hold distinct secrets other than the current one: a reload that leaves the secret as it
// is (most reloads: a new route, a weight) must not spend a slot on the current secret, and a secret that comes back
// (a bad key change rolled back, then made again) must not take two. Either would push out the oldest secret while
// its tokens are still valid, and send the clients it pinned to a lagging replica.
// Pins src/release/read-after-write.ts #gracesAfter (line 107): `!grace.secret.equals(secret)`. (The rows that bring a
// secret back also hold for the `!graces.some(...)` dedupe on that line, which that filter already makes redundant.)
import t from 'tap'
import { MAX_PREVIOUS_SECRETS, ReadAfterWrite } from '../../src/release/read-after-write.ts'

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
