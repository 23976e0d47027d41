// Heads held for their first body byte (src/proxy/held-heads.ts) go out alone after HEAD_WAITS_MS to twice that,
// counted from the end of the turn of the event loop they were held in, from one timer for all of them; no timer
// runs while nothing is held, and a head let go within its turn never arms one.
import t from 'tap'
import { HEAD_WAITS_MS, HeldHeads, type HoldsHead } from '../../src/proxy/held-heads.ts'
import { ManualClock } from '../helpers/clock.ts'

const turnEnds = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function holder (heads: HeldHeads, sent: string[], name: string): HoldsHead {
  const h: HoldsHead = { sendHeldHead: () => { sent.push(name); heads.release(h) } }
  return h
}

t.test('a held head goes out alone within one to two waits, from one timer', async (t) => {
  const clock = new ManualClock()
  const heads = new HeldHeads(clock)
  const sent: string[] = []
  const a = holder(heads, sent, 'a')
  heads.hold(a)
  await turnEnds()
  clock.advance(HEAD_WAITS_MS - 1)
  const b = holder(heads, sent, 'b')
  heads.hold(b)
  await turnEnds()
  t.equal(clock.pendingTimers, 1, 'one timer for both')
  clock.advance(1)
  t.same(sent, [], 'the first tick only ages them: a head held just before it has waited nearly nothing')
  clock.advance(HEAD_WAITS_MS)
  t.same(sent, ['a', 'b'], 'out at the second tick')
  t.equal(clock.pendingTimers, 0, 'nothing held: no timer')
})

t.test('a head released before its time is never sent; the last release stops the timer', async (t) => {
  const clock = new ManualClock()
  const heads = new HeldHeads(clock)
  const sent: string[] = []
  const a = holder(heads, sent, 'a')
  const b = holder(heads, sent, 'b')
  heads.hold(a)
  await turnEnds()
  heads.hold(b)
  await turnEnds()
  heads.release(a)
  t.equal(clock.pendingTimers, 1, 'b is still held')
  clock.advance(HEAD_WAITS_MS)
  heads.release(b) // released from the older set
  t.equal(clock.pendingTimers, 0)
  clock.advance(HEAD_WAITS_MS * 4)
  t.same(sent, [])
})

t.test('heads held after a tick wait for a tick of their own', async (t) => {
  const clock = new ManualClock()
  const heads = new HeldHeads(clock)
  const sent: string[] = []
  heads.hold(holder(heads, sent, 'a'))
  await turnEnds()
  clock.advance(HEAD_WAITS_MS)
  heads.hold(holder(heads, sent, 'b'))
  await turnEnds()
  clock.advance(HEAD_WAITS_MS)
  t.same(sent, ['a'])
  clock.advance(HEAD_WAITS_MS)
  t.same(sent, ['a', 'b'])
  t.equal(clock.pendingTimers, 0)
})

t.test('a head held while a tick sends others is kept for a later tick', async (t) => {
  const clock = new ManualClock()
  const heads = new HeldHeads(clock)
  const sent: string[] = []
  const late = holder(heads, sent, 'late')
  const first: HoldsHead = { sendHeldHead: () => { sent.push('first'); heads.release(first); heads.hold(late) } }
  heads.hold(first)
  await turnEnds()
  clock.advance(HEAD_WAITS_MS * 2)
  t.same(sent, ['first'])
  await turnEnds()
  clock.advance(HEAD_WAITS_MS * 2)
  t.same(sent, ['first', 'late'], 'not lost with the set that went out')
  t.equal(clock.pendingTimers, 0)
})

t.test('a head let go in the turn it was held in arms no timer', async (t) => {
  const clock = new ManualClock()
  const heads = new HeldHeads(clock)
  const sent: string[] = []
  const a = holder(heads, sent, 'a')
  heads.hold(a)
  heads.release(a)
  await turnEnds()
  t.equal(clock.pendingTimers, 0)
  clock.advance(HEAD_WAITS_MS * 4)
  t.same(sent, [])
})
