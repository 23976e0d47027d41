// least-connections compares inFlight / weight and breaks a tie with one weighted draw: at low concurrency, where
// every target is idle and they all tie, traffic still follows the weights (README: "fewest in flight per weight,
// ties at random"; nginx's least_conn breaks ties by weight, Envoy's least_request weights idle hosts). Scoring
// (inFlight + 1) / weight instead sent every lone request to the heaviest idle target: 3:1 weights → 100% / 0%.
import t from 'tap'
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts'
import { candidate, mulberry32, noRandom, sequence, tally, type TestCandidate } from './prng.ts'

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
