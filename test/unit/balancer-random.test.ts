import t from 'tap'
import { RandomBalancer, weightedRandom } from '../../src/balancer/random.ts'
import { candidate, candidates, mulberry32, noRandom, sequence, tally, weightShares } from './prng.ts'

t.test('weighted distribution within ±2% over 10,000 picks', async (t) => {
  const cases: Record<string, number>[] = [
    { a: 1, b: 1 },
    { a: 3, b: 1 },
    { a: 1, b: 2, c: 3, d: 4 },
    { a: 5, b: 1, c: 1 },
    { a: 0.5, b: 1.5, c: 8 },
  ]
  for (const [i, weights] of cases.entries()) {
    const cs = candidates(weights)
    const b = new RandomBalancer(mulberry32(1000 + i))
    const picks: string[] = []
    for (let n = 0; n < 10_000; n++) picks.push(b.pick(cs, {})!.url)
    const counts = tally(picks)
    for (const [url, share] of Object.entries(weightShares(cs))) {
      const got = (counts[url] ?? 0) / 10_000
      t.ok(Math.abs(got - share) <= 0.02, `${JSON.stringify(weights)}: ${url} got ${got.toFixed(4)}, expected ${share.toFixed(4)}`)
    }
  }
})

t.test('maps the random value onto cumulative weights exactly', async (t) => {
  const cs = candidates({ a: 1, b: 3 }) // a owns [0, 0.25), b owns [0.25, 1)
  const cases: [number, string][] = [[0, 'a'], [0.2499, 'a'], [0.25, 'b'], [0.5, 'b'], [0.999999, 'b']]
  for (const [r, want] of cases) t.equal(new RandomBalancer(() => r).pick(cs, {})!.url, want, `random ${r} → ${want}`)
})

t.test('zero or one candidate', async (t) => {
  const b = new RandomBalancer(sequence())
  t.equal(b.pick([], {}), undefined)
  const only = candidate('a')
  t.equal(b.pick([only], {}), only, 'no random value consumed for a single candidate')
})

t.test('weightedRandom skip', async (t) => {
  const cs = candidates({ a: 1, b: 1, c: 2 })
  // without a: b owns [0, 1/3), c owns [1/3, 1)
  t.equal(weightedRandom(cs, () => 0, cs[0])!.url, 'b')
  t.equal(weightedRandom(cs, () => 0.3, cs[0])!.url, 'b')
  t.equal(weightedRandom(cs, () => 0.34, cs[0])!.url, 'c')
  t.equal(weightedRandom(cs, () => 0.999999, cs[0])!.url, 'c')
  const rng = mulberry32(7)
  const drawn = Array.from({ length: 1000 }, () => weightedRandom(cs, rng, cs[2])!.url)
  t.notOk(drawn.includes('c'), 'skipped candidate never returned')
  t.ok(drawn.includes('a') && drawn.includes('b'), 'the others still are')
  const [x] = candidates({ x: 1 })
  t.equal(weightedRandom([x!], () => 0, x), undefined, 'skipping the only candidate leaves nothing')
  t.equal(weightedRandom([x!], () => 0), x)
})

t.test('avoid: the draw runs over the rest of the line, whatever order the avoided targets come in', async (t) => {
  // weights a 1, b 2, c 3, d 1, e 5; without a and c the line is b [0, 2), d [2, 3), e [3, 8) of 8
  const cases: { avoid: string[]; draw: number; want: string }[] = [
    { avoid: ['a', 'c'], draw: 0, want: 'b' },
    { avoid: ['a', 'c'], draw: 1.9 / 8, want: 'b' },
    { avoid: ['a', 'c'], draw: 2.1 / 8, want: 'd' },
    { avoid: ['c', 'a'], draw: 2.1 / 8, want: 'd' },
    { avoid: ['a', 'c'], draw: 2.9 / 8, want: 'd' },
    { avoid: ['a', 'c'], draw: 3 / 8, want: 'e' },
    { avoid: ['e', 'a', 'c'], draw: 0.7, want: 'd' }, // b [0, 2), d [2, 3) of 3
    { avoid: ['b', 'd'], draw: 0.1, want: 'a' }, // a [0, 1), c [1, 4), e [4, 9) of 9
    { avoid: ['d', 'b'], draw: 4.5 / 9, want: 'e' },
  ]
  for (const c of cases) {
    const cs = candidates({ a: 1, b: 2, c: 3, d: 1, e: 5 })
    const avoid = c.avoid.map((u) => cs.find((x) => x.url === u)!)
    t.equal(new RandomBalancer(sequence(c.draw)).pick(cs, {}, avoid)!.url, c.want, `avoiding ${c.avoid.join(',')}, draw ${c.draw}`)
  }
})

t.test('no draw when a single candidate is left', async (t) => {
  const cs = candidates({ a: 1, b: 3, c: 2 })
  t.equal(new RandomBalancer(noRandom).pick(cs, {}, [cs[0]!, cs[2]!]), cs[1], 'all but one avoided')
  t.equal(weightedRandom([cs[0]!], noRandom), cs[0], 'weightedRandom over one candidate')
  t.equal(weightedRandom(cs.slice(0, 2), noRandom, cs[1]), cs[0], 'weightedRandom over two, one skipped')
})
