import t from 'tap'
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts'
import { candidate, candidates, mulberry32, noRandom, sequence, tally, weightShares } from './prng.ts'

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
