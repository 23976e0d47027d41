// least-connections with many distinct weights (issue #12's bar: a pick is O(1) or O(log n)). A tie draws a weight
// class by its share (weight × members); the classes' shares are kept as running sums (src/balancer/fenwick.ts), so
// a tie across k distinct weights costs O(log k). Before, each pick and each return to the idle bucket scanned every
// class the bucket had ever held: with 1,000 distinct weights a pick cost ~30× one among two weights. Locked in:
// the draw stays exact (shares by weight, in class order, emptied classes skipped, a lone slot with no draw). What a
// pick costs is measured in `node bench/pick.ts` (its row with every weight distinct), never timed here.
import t from 'tap'
import { ShareTree } from '../../src/balancer/fenwick.ts'
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts'
import { candidate, mulberry32, noRandom, sequence, tally, type TestCandidate } from './prng.ts'

t.test('the share tree finds the span a point falls in, emptied shares skipped, as it grows', async (t) => {
  const random = mulberry32(5)
  const tree = new ShareTree()
  const shares: number[] = []
  for (let step = 0; step < 400; step++) {
    // grow past several capacities, and empty and refill shares on the way
    if (shares.length < 70 || random() < 0.3) {
      const share = random() < 0.2 ? 0 : Math.floor(random() * 5)
      shares.push(share)
      tree.push(share)
    } else {
      const i = Math.floor(random() * shares.length)
      const delta = shares[i]! > 0 && random() < 0.5 ? -shares[i]! : 1 + Math.floor(random() * 3)
      shares[i]! += delta
      tree.add(i, delta)
    }
    const total = shares.reduce((s, v) => s + v, 0)
    if (total !== tree.total) return t.fail(`total ${tree.total}, want ${total}`)
    const r = Math.floor(random() * total * 4) / 4
    let want = 0
    let start = 0
    while (start + shares[want]! <= r) start += shares[want++]!
    if (tree.find(r) !== want || tree.remainder !== r - start) return t.fail(`step ${step}: ${r} in ${tree.find(r)}, want ${want}`)
  }
  t.equal(tree.size, shares.length)
  t.pass('every find matched a scan of the shares')
})

t.test('a tie across many weights: shares by weight after the load moved around', async (t) => {
  const cs: TestCandidate[] = Array.from({ length: 40 }, (_, i) => candidate(`t${i}`, 1 + i))
  const bal = new LeastConnectionsBalancer(mulberry32(31))
  // load moves up and down: classes of every bucket are emptied and refilled
  const random = mulberry32(7)
  for (let n = 0; n < 2000; n++) {
    const c = cs[Math.floor(random() * cs.length)]!
    c.inFlight = Math.floor(random() * 3)
    bal.loadChanged(c)
  }
  for (const c of cs) { c.inFlight = 0; bal.loadChanged(c) }
  const picks = 40_000
  const counts = tally(Array.from({ length: picks }, () => bal.pick(cs, {})!.url))
  const total = cs.reduce((s, c) => s + c.weight, 0)
  const off = cs.filter((c) => Math.abs((counts[c.url] ?? 0) / picks - c.weight / total) > 0.01)
  t.strictSame(off.map((c) => c.url), [], 'every share within ±1% of weight / total')
})

t.test('the draw\'s line: classes in the order they reached the bucket, emptied ones skipped', async (t) => {
  const cs = [candidate('a', 2), candidate('b', 1), candidate('c', 3), candidate('d', 2)]
  const pick = (draw: number): string => new LeastConnectionsBalancer(sequence(draw)).pick(cs, {})!.url
  // the line is a d (2, 2) b (1) c (3) of 8
  t.strictSame([0, 0.24, 0.26, 0.49, 0.51, 0.62, 0.63, 0.9999999].map(pick), ['a', 'a', 'd', 'd', 'b', 'b', 'c', 'c'])
  // on a kept board, b and c leave the idle bucket: their classes empty, the line is a d
  const bal = new LeastConnectionsBalancer(sequence(0.74, 0.76))
  t.equal(bal.pick(cs, {}, [cs[0]!, cs[1]!, cs[3]!])!.url, 'c', 'one left: no draw')
  for (const c of [cs[1]!, cs[2]!]) { c.inFlight = 1; bal.loadChanged(c) }
  t.strictSame([bal.pick(cs, {})!.url, bal.pick(cs, {})!.url], ['d', 'd'])
  // a lone slot among emptied classes wins with no draw
  cs[0]!.inFlight = 1
  bal.loadChanged(cs[0]!)
  const lone = new LeastConnectionsBalancer(noRandom)
  t.equal(lone.pick(cs, {})!.url, 'd', 'a fresh board')
  t.equal(bal.pick(cs, {}, [])!.url, 'd', 'the kept board: d alone in the idle bucket, three classes emptied')
})
