import t from 'tap'
import { SlidingWindowCounter } from '../../src/release/sliding-window.ts'

/** A counter on a hand-moved clock: 1000 ms window in 10 buckets of 100 ms. */
function counter (windowMs = 1000, buckets = 10): { c: SlidingWindowCounter; at: (ms: number) => void } {
  const clock = { now: 0 }
  return { c: new SlidingWindowCounter({ windowMs, buckets, now: () => clock.now }), at: (ms) => { clock.now = ms } }
}

t.test('an event counts until its bucket leaves the window', async (t) => {
  // [time of the one event, time asked, expected count]
  const cases: [event: number, ask: number, want: number][] = [
    [0, 0, 1],
    [0, 999, 1],
    [0, 1000, 0], // bucket [0, 100) has left the window [100, 1100)
    [99, 999, 1],
    [99, 1000, 0], // counted for 901 ms: the whole bucket expires together
    [100, 1099, 1],
    [100, 1100, 0],
    [150, 1099, 1],
    [150, 1100, 0],
    [950, 1899, 1],
    [950, 1900, 0], // 950 ms after it happened: its bucket [900, 1000) left with the window's start at 1000
  ]
  for (const [event, ask, want] of cases) {
    const { c, at } = counter()
    at(event)
    c.add()
    at(ask)
    t.equal(c.count(), want, `event at ${event}, asked at ${ask}`)
  }
})

t.test('events in several buckets expire bucket by bucket', async (t) => {
  const { c, at } = counter()
  for (const [time, n] of [[0, 1], [100, 2], [250, 3], [250, 4], [999, 5]] as const) {
    at(time)
    c.add(n)
  }
  const expected: [ask: number, want: number][] = [
    [999, 15],
    [1000, 14], // bucket 0 gone
    [1099, 14],
    [1100, 12], // bucket 1 gone
    [1199, 12],
    [1200, 5], // bucket 2 (both adds at 250) gone
    [1899, 5],
    [1900, 0],
  ]
  for (const [ask, want] of expected) {
    at(ask)
    t.equal(c.count(), want, `at ${ask}`)
  }
})

t.test('idle longer than the window forgets everything, then counts afresh', async (t) => {
  for (const idle of [1000, 1001, 5000, 1e9]) {
    const { c, at } = counter()
    at(0)
    c.add(7)
    at(500)
    c.add(3)
    at(500 + idle)
    t.equal(c.count(), 0, `idle ${idle}`)
    c.add()
    t.equal(c.count(), 1)
    at(500 + idle + 899)
    t.equal(c.count(), 1, 'the new event is still in: every event counts for at least window − one bucket')
  }
})

t.test('skipping some buckets clears only those', async (t) => {
  const { c, at } = counter()
  at(0)
  c.add(1)
  at(550)
  c.add(10) // buckets 1-4 were skipped and stay empty
  at(950)
  t.equal(c.count(), 11)
  at(1000)
  t.equal(c.count(), 10)
  at(1499)
  t.equal(c.count(), 10)
  at(1500)
  t.equal(c.count(), 0)
})

t.test('a clock that steps back keeps counting in the newest bucket', async (t) => {
  const { c, at } = counter()
  at(500)
  c.add()
  at(100) // stepped back 400 ms
  c.add()
  t.equal(c.count(), 2, 'nothing is lost or revived')
  at(1499)
  t.equal(c.count(), 2)
  at(1500)
  t.equal(c.count(), 0, 'both expire with the bucket they were counted in')
})

t.test('clear empties the window', async (t) => {
  const { c, at } = counter()
  at(10)
  c.add(4)
  c.clear()
  t.equal(c.count(), 0)
  c.add()
  t.equal(c.count(), 1)
})

t.test('window lengths that do not divide evenly', async (t) => {
  const { c, at } = counter(1000, 3) // buckets of 333.33 ms
  at(0)
  c.add()
  at(334) // second bucket, [333.3, 666.7)
  c.add()
  at(999)
  t.equal(c.count(), 2)
  at(1000)
  t.equal(c.count(), 1, 'bucket [0, 333.3) left at 1000')
  at(1333)
  t.equal(c.count(), 1)
  at(1334)
  t.equal(c.count(), 0)
})

t.test('invalid options are refused', async (t) => {
  for (const options of [{ windowMs: 0 }, { windowMs: -1 }, { windowMs: Number.NaN }, { windowMs: Infinity }, { windowMs: 100, buckets: 0 }, { windowMs: 100, buckets: 1.5 }]) {
    t.throws(() => new SlidingWindowCounter(options), RangeError, JSON.stringify(options))
  }
})
