// The queue of requests waiting for a target's connections (src/upstream/wait-queue.ts): first in first out,
// entries taken out from anywhere, and an array that stays bounded however long one entry waits while others come
// and go (a target whose every connection is held while requests keep timing out in its queue).
import t from 'tap'
import { WaitQueue } from '../../src/upstream/wait-queue.ts'

type Op = ['push', string] | ['remove', string, boolean] | ['shift', string | undefined]

t.test('first in first out, with entries taken out anywhere', async (t) => {
  const cases: { name: string, ops: Op[], size: number }[] = [
    { name: 'empty', ops: [['shift', undefined], ['remove', 'a', false]], size: 0 },
    { name: 'in order', ops: [['push', 'a'], ['push', 'b'], ['push', 'c'], ['shift', 'a'], ['shift', 'b'], ['shift', 'c'], ['shift', undefined]], size: 0 },
    { name: 'the front taken out', ops: [['push', 'a'], ['push', 'b'], ['remove', 'a', true], ['shift', 'b']], size: 0 },
    { name: 'the middle taken out', ops: [['push', 'a'], ['push', 'b'], ['push', 'c'], ['remove', 'b', true], ['shift', 'a'], ['shift', 'c'], ['shift', undefined]], size: 0 },
    { name: 'the back taken out', ops: [['push', 'a'], ['push', 'b'], ['remove', 'b', true], ['shift', 'a'], ['shift', undefined]], size: 0 },
    { name: 'taken out once only', ops: [['push', 'a'], ['remove', 'a', true], ['remove', 'a', false], ['shift', undefined]], size: 0 },
    { name: 'shifted, then not there to take out', ops: [['push', 'a'], ['shift', 'a'], ['remove', 'a', false]], size: 0 },
    { name: 'every one taken out, then used again', ops: [['push', 'a'], ['push', 'b'], ['remove', 'b', true], ['remove', 'a', true], ['push', 'c'], ['shift', 'c']], size: 0 },
    { name: 'some left', ops: [['push', 'a'], ['push', 'b'], ['push', 'c'], ['remove', 'a', true], ['shift', 'b']], size: 1 },
  ]
  for (const c of cases) {
    const q = new WaitQueue<string, string>()
    const seen: unknown[] = []
    const expected: unknown[] = []
    for (const op of c.ops) {
      if (op[0] === 'push') q.push(op[1], `value of ${op[1]}`)
      else if (op[0] === 'remove') { seen.push(q.remove(op[1])); expected.push(op[2]) } else { seen.push(q.shift()); expected.push(op[1] === undefined ? undefined : `value of ${op[1]}`) }
    }
    t.same(seen, expected, c.name)
    t.equal(q.size, c.size, `${c.name}: size`)
  }
})

t.test('one entry waits at the front while 100,000 others come and are taken out: the array stays bounded', async (t) => {
  const q = new WaitQueue<number, number>()
  q.push(0, 0)
  let largest = 0
  for (let i = 1; i <= 100_000; i++) {
    q.push(i, i)
    if (i % 10 === 0) continue // one in ten stays waiting a while
    q.remove(i)
    largest = Math.max(largest, q.footprint)
  }
  t.equal(q.size, 1 + 10_000)
  t.ok(largest <= 2 * q.size + 40, `held at most ${largest} slots for ${q.size} waiting`)
  // and they come out in order, the first first
  const out: number[] = []
  for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v)
  t.equal(out.length, 10_001)
  t.equal(out[0], 0)
  t.ok(out.every((v, i) => i === 0 || v > out[i - 1]!), 'in the order pushed')
  t.equal(q.footprint, 0)
})

t.test('many waiting, all but one taken out: the array shrinks to about that one', async (t) => {
  const q = new WaitQueue<number, number>()
  for (let i = 0; i < 10_000; i++) q.push(i, i)
  for (let i = 0; i < 9_999; i++) q.remove(i)
  t.equal(q.size, 1)
  t.ok(q.footprint <= 40, `${q.footprint} slots held for one`)
  t.equal(q.shift(), 9_999)
})

t.test('the array is rebuilt only once the dead slots outweigh the live ones: a few holes among many waiting stay put', async (t) => {
  // Rebuilding copies every live entry: done whenever 32 slots are dead, a long queue would be copied every 32
  // removals (O(n) per step, not the amortised O(1) promised). Only dead > live (and at least 32 dead) pays for it.
  const middle = new WaitQueue<number, number>()
  for (let i = 0; i < 64; i++) middle.push(i, i)
  for (let i = 1; i <= 32; i++) middle.remove(i) // 32 holes behind the front, 32 live: not outweighing
  t.equal(middle.size, 32)
  t.equal(middle.footprint, 64, '32 dead among 32 live: left alone')
  middle.remove(33) // 33 dead, 31 live
  t.equal(middle.footprint, 31, 'once the dead outweigh the live: rebuilt to the live ones')

  const front = new WaitQueue<number, number>()
  for (let i = 0; i < 64; i++) front.push(i, i)
  for (let i = 0; i < 20; i++) front.remove(i) // taken from the front: 20 dead slots, counted once each
  t.equal(front.size, 44)
  t.equal(front.footprint, 64, '20 dead at the front among 44 live: left alone')
  const out: number[] = []
  for (let v = front.shift(); v !== undefined; v = front.shift()) out.push(v)
  t.same(out, Array.from({ length: 44 }, (_, i) => 20 + i), 'the rest in the order pushed')
})
