// Every earlier read-your-writes secret still within its grace is accepted after a reload changes the secret, not
// only the last one: a second change within the window keeps the pins made under the first. Before, the second
// change dropped the first secret, and every client pinned under it went to a replica while its write could still
// be missing there. At most MAX_PREVIOUS_SECRETS earlier secrets are kept (the newest).
import t from 'tap'
import { MAX_PREVIOUS_SECRETS, ReadAfterWrite } from '../../src/release/read-after-write.ts'

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
