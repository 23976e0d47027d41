// The least-connections balancer: each subtest is one behaviour, named as its file was.
import t from 'tap'
import { ShareTree } from '../../src/balancer/fenwick.ts'
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts'
import { candidate, candidates, mulberry32, noRandom, sequence, tally, type TestCandidate, weightShares } from './prng.ts'

// least-connections with many distinct weights (issue #12's bar: a pick is O(1) or O(log n)). A tie draws a weight
// class by its share (weight × members); the classes' shares are kept as running sums (src/balancer/fenwick.ts), so
// a tie across k distinct weights costs O(log k). Before, each pick and each return to the idle bucket scanned every
// class the bucket had ever held: with 1,000 distinct weights a pick cost ~30× one among two weights. Locked in:
// the draw stays exact (shares by weight, in class order, emptied classes skipped, a lone slot with no draw). What a
// pick costs is measured in `node bench/pick.ts` (its row with every weight distinct), never timed here.
t.test('balancer-least-connections-many-weights', async (t) => {
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
})

// least-connections compares inFlight / weight and breaks a tie with one weighted draw: at low concurrency, where
// every target is idle and they all tie, traffic still follows the weights (README: "fewest in flight per weight,
// ties at random"; nginx's least_conn breaks ties by weight, Envoy's least_request weights idle hosts). Scoring
// (inFlight + 1) / weight instead sent every lone request to the heaviest idle target: 3:1 weights → 100% / 0%.
t.test('balancer-least-connections-ties', async (t) => {
  t.test('a tie is one draw over the tied candidates\' weights, in list order', async (t) => {
    // [url, weight, inFlight]
    const cases: { name: string; cs: [string, number, number][]; draw: number; want: string }[] = [
      // idle a (3) and b (1) tie at 0: a takes draws below 3/4
      { name: 'idle 3:1, low draw', cs: [['a', 3, 0], ['b', 1, 0]], draw: 0, want: 'a' },
      { name: 'idle 3:1, draw just below 3/4', cs: [['a', 3, 0], ['b', 1, 0]], draw: 0.74, want: 'a' },
      { name: 'idle 3:1, draw at 3/4', cs: [['a', 3, 0], ['b', 1, 0]], draw: 0.75, want: 'b' },
      { name: 'idle 1:3, the light one first', cs: [['a', 1, 0], ['b', 3, 0]], draw: 0.24, want: 'a' },
      { name: 'idle 1:3, draw at 1/4', cs: [['a', 1, 0], ['b', 3, 0]], draw: 0.25, want: 'b' },
      // a (2, 2 in flight) and b (1, 1 in flight) tie at 1; c (1, 2) does not take part in the draw
      { name: 'loaded tie, c out of it', cs: [['a', 2, 2], ['b', 1, 1], ['c', 1, 2]], draw: 0.66, want: 'a' },
      { name: 'loaded tie, b', cs: [['a', 2, 2], ['b', 1, 1], ['c', 1, 2]], draw: 0.67, want: 'b' },
      // two of weight 2 and one of weight 1: the draw's line is a a' b (2, 2, 1 of 5)
      { name: 'equal weights inside a mixed tie: first', cs: [['a', 2, 0], ['b', 1, 0], ['c', 2, 0]], draw: 0.39, want: 'a' },
      { name: 'equal weights inside a mixed tie: second', cs: [['a', 2, 0], ['b', 1, 0], ['c', 2, 0]], draw: 0.41, want: 'c' },
      { name: 'equal weights inside a mixed tie: the light one', cs: [['a', 2, 0], ['b', 1, 0], ['c', 2, 0]], draw: 0.81, want: 'b' },
      { name: 'a draw of almost 1 stays in range', cs: [['a', 0.1, 0], ['b', 0.2, 0], ['c', 0.7, 0]], draw: 0.9999999999, want: 'c' },
    ]
    for (const c of cases) {
      const b = new LeastConnectionsBalancer(sequence(c.draw)) // one draw, no more
      t.equal(b.pick(c.cs.map(([u, w, f]) => candidate(u, w, f)), {})!.url, c.want, c.name)
    }
  })

  t.test('no draw without a tie: a lone least-loaded candidate wins, whatever the weights', async (t) => {
    const cases: { name: string; cs: [string, number, number][]; want: string }[] = [
      { name: 'idle light beats a heavy one with one in flight', cs: [['a', 1, 0], ['b', 3, 1]], want: 'a' },
      { name: 'heavy with 2 of 3 beats light with 1 of 1', cs: [['a', 3, 2], ['b', 1, 1]], want: 'a' },
    ]
    for (const c of cases) t.equal(new LeastConnectionsBalancer(noRandom).pick(c.cs.map(([u, w, f]) => candidate(u, w, f)), {})!.url, c.want, c.name)
  })

  t.test('one request at a time: the share follows the weights within ±2% over 10,000 picks', async (t) => {
    for (const [i, weights] of ([[3, 1], [1, 2, 3, 4], [5, 1, 1]] as number[][]).entries()) {
      const cs = weights.map((w, j) => candidate(`t${j}`, w))
      const b = new LeastConnectionsBalancer(mulberry32(40 + i))
      const picks: string[] = []
      for (let n = 0; n < 10_000; n++) {
        // each request ends before the next starts: every pick sees all targets idle
        const c = b.pick(cs, {})!
        c.inFlight++
        b.loadChanged(c)
        picks.push(c.url)
        c.inFlight--
        b.loadChanged(c)
      }
      const counts = tally(picks)
      const total = weights.reduce((s, w) => s + w, 0)
      for (const [j, w] of weights.entries()) {
        t.ok(Math.abs((counts[`t${j}`] ?? 0) / 10_000 - w / total) <= 0.02, `${weights.join(':')} t${j}: ${counts[`t${j}`] ?? 0} vs ${w / total}`)
      }
    }
  })

  t.test('a constant concurrency of 4 with 3:1 weights: 75% / 25% within ±2%', async (t) => {
    const a = candidate('a', 3)
    const b = candidate('b', 1)
    const list = [a, b]
    const bal = new LeastConnectionsBalancer(mulberry32(9))
    const running: TestCandidate[] = []
    const picks: string[] = []
    for (let n = 0; n < 20_000; n++) {
      // oldest first, as requests of equal latency end
      if (running.length >= 4) {
        const done = running.shift()!
        done.inFlight--
        bal.loadChanged(done)
      }
      const c = bal.pick(list, {})!
      c.inFlight++
      bal.loadChanged(c)
      running.push(c)
      picks.push(c.url)
    }
    const counts = tally(picks)
    t.ok(Math.abs(counts.a! / 20_000 - 0.75) <= 0.02, `a: ${counts.a}`)
  })

  t.test('after load moves around, a tie is still drawn by weight (classes emptied and refilled)', async (t) => {
    const cs = [candidate('a', 3), candidate('b', 1), candidate('c', 1)]
    const bal = new LeastConnectionsBalancer(mulberry32(77))
    // load every candidate up and back down, through loadChanged
    for (const c of cs) { c.inFlight = 3; bal.loadChanged(c) }
    for (const c of cs) { c.inFlight = 0; bal.loadChanged(c) }
    const counts = tally(Array.from({ length: 10_000 }, () => bal.pick(cs, {})!.url))
    for (const [url, share] of [['a', 0.6], ['b', 0.2], ['c', 0.2]] as const) t.ok(Math.abs(counts[url]! / 10_000 - share) <= 0.02, `${url}: ${counts[url]}`)
    // and one candidate alone at the lowest score takes it without a draw
    cs[0]!.inFlight = 1
    bal.loadChanged(cs[0]!)
    cs[1]!.inFlight = 1
    bal.loadChanged(cs[1]!)
    t.equal(new LeastConnectionsBalancer(noRandom).pick([...cs], {})!.url, 'c', 'a fresh list: c alone at 0')
    t.equal(bal.pick(cs, {}, [])!.url, 'c', 'the kept board: c alone at 0, b and a above')
  })
})


t.test('balancer-least-connections', async (t) => {
  t.test('picks the minimum inFlight / weight', async (t) => {
    const cases: { name: string; cs: [string, number, number][]; want: string }[] = [
      { name: 'fewest in flight', cs: [['a', 1, 3], ['b', 1, 1], ['c', 1, 2]], want: 'b' },
      { name: 'weight divides the load', cs: [['a', 3, 4], ['b', 1, 2]], want: 'a' }, // 4/3 < 2
      { name: 'a light target with nothing in flight beats a heavy one with one', cs: [['a', 1, 0], ['b', 3, 1]], want: 'a' }, // 0 < 1/3
      { name: 'light target with nothing in flight beats a loaded heavy one', cs: [['a', 1, 0], ['b', 10, 20]], want: 'a' }, // 0 < 2
      { name: 'last candidate is the minimum', cs: [['a', 1, 9], ['b', 1, 8], ['c', 1, 0]], want: 'c' },
    ]
    for (const c of cases) {
      const b = new LeastConnectionsBalancer(noRandom) // unique minimum: random never consulted
      t.equal(b.pick(c.cs.map(([u, w, f]) => candidate(u, w, f)), {})!.url, c.want, c.name)
    }
  })

  t.test('ties are broken by one draw from the random source over the tied candidates, in list order', async (t) => {
    const cs = [candidate('a', 1, 1), candidate('b', 1, 1), candidate('c', 1, 1), candidate('d', 1, 5)]
    // a, b and c tie (score 2): the draw r takes the tie at floor(3r); d (score 6) never
    const cases: { draw: number; want: string }[] = [
      { draw: 0, want: 'a' },
      { draw: 0.33, want: 'a' },
      { draw: 0.34, want: 'b' },
      { draw: 0.66, want: 'b' },
      { draw: 0.67, want: 'c' },
      { draw: 0.999999, want: 'c' },
    ]
    for (const c of cases) t.equal(new LeastConnectionsBalancer(sequence(c.draw)).pick(cs, {})!.url, c.want, `draw ${c.draw}`)
    // a tie across weights is drawn by weight: a holds 2 of the tie's 3 (test/unit/balancer-least-connections-ties.test.ts)
    const acrossWeights = [candidate('a', 2, 2), candidate('b', 1, 1)]
    t.equal(new LeastConnectionsBalancer(sequence(0.6)).pick(acrossWeights, {})!.url, 'a', 'equal scores across weights tie too (2/2 = 1/1)')
    t.equal(new LeastConnectionsBalancer(sequence(0.7)).pick(acrossWeights, {})!.url, 'b')
  })

  t.test('tied candidates share evenly within ±2% over 10,000 picks', async (t) => {
    const cs = candidates({ a: 1, b: 1, c: 1, d: 1 })
    const b = new LeastConnectionsBalancer(mulberry32(5))
    const counts = tally(Array.from({ length: 10_000 }, () => b.pick(cs, {})!.url))
    for (const url of ['a', 'b', 'c', 'd']) t.ok(Math.abs(counts[url]! / 10_000 - 0.25) <= 0.02, `${url}: ${counts[url]}`)
  })

  t.test('under accumulating load the share follows weight within ±2%', async (t) => {
    for (const [i, weights] of ([{ a: 1, b: 2, c: 3, d: 4 }, { a: 3, b: 1 }, { a: 5, b: 1, c: 1 }] as Record<string, number>[]).entries()) {
      const cs = candidates(weights)
      const b = new LeastConnectionsBalancer(mulberry32(20 + i))
      const picks: string[] = []
      for (let n = 0; n < 10_000; n++) {
        const c = b.pick(cs, {})!
        c.inFlight++
        b.loadChanged(c) // as the pool reports every acquire
        picks.push(c.url)
      }
      const counts = tally(picks)
      for (const [url, share] of Object.entries(weightShares(cs))) {
        t.ok(Math.abs(counts[url]! / 10_000 - share) <= 0.02, `${JSON.stringify(weights)} ${url}: ${counts[url]} vs ${share}`)
      }
    }
  })

  t.test('zero or one candidate', async (t) => {
    const b = new LeastConnectionsBalancer(noRandom)
    t.equal(b.pick([], {}), undefined)
    const only = candidate('a', 1, 50)
    t.equal(b.pick([only], {}), only)
  })

  t.test('a tie across weights gives each weight class its whole share (weight × members)', async (t) => {
    // a and b (weight 1) were placed before c (weight 2) arrived: the line is a [0, 1), b [1, 2), c [2, 4) of 4
    const cases: { draw: number; want: string }[] = [
      { draw: 0.2, want: 'a' },
      { draw: 0.3, want: 'b' },
      { draw: 0.49, want: 'b' },
      { draw: 0.5, want: 'c' },
      { draw: 0.99, want: 'c' },
    ]
    for (const c of cases) {
      const cs = [candidate('a', 1), candidate('b', 1), candidate('c', 2)]
      t.equal(new LeastConnectionsBalancer(sequence(c.draw)).pick(cs, {})!.url, c.want, `draw ${c.draw}`)
    }
  })

  t.test('a target avoided by one pick is back for the next', async (t) => {
    const a = candidate('a', 1, 0)
    const b = candidate('b', 1, 1)
    const list = [a, b]
    const bal = new LeastConnectionsBalancer(noRandom)
    t.equal(bal.pick(list, {}, [a]), b, 'the retry avoids a')
    t.equal(bal.pick(list, {}), a, 'the next request sees a again, least loaded')
    t.equal(bal.pick(list, {}, [b]), a, 'and avoiding b gives a')
  })

  t.test('load changes reach both kept lists (the live tier and the standby)', async (t) => {
    const [a, b, c, d] = [candidate('a'), candidate('b'), candidate('c'), candidate('d')]
    const live = [a!, b!]
    const standby = [c!, d!]
    const bal = new LeastConnectionsBalancer(sequence(0, 0)) // the two first picks are ties; none after
    t.equal(bal.pick(standby, {}), c)
    t.equal(bal.pick(live, {}), a) // live is now the first list kept, standby the second
    c!.inFlight = 2
    bal.loadChanged(c!)
    t.equal(bal.pick(standby, {}), d, 'd alone at the least load: no draw')
    d!.inFlight = 3
    bal.loadChanged(d!)
    a!.inFlight = 1
    bal.loadChanged(a!)
    t.equal(bal.pick(live, {}), b, 'and the live list saw a change too')
    t.equal(bal.pick(standby, {}), c, 'c (2) now below d (3)')
  })
})
