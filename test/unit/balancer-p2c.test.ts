import t from 'tap'
import { P2CBalancer } from '../../src/balancer/p2c.ts'
import { candidate, candidates, mulberry32, sequence, tally, weightShares } from './prng.ts'

t.test('picks the less loaded of the two sampled candidates', async (t) => {
  // equal weights: first draw selects among [x, y, z], second among the two left
  const x = candidate('x', 1, 5)
  const y = candidate('y', 1, 0)
  const z = candidate('z', 1, 10)
  const cs = [x, y, z]
  const cases: { draws: [number, number]; want: string; why: string }[] = [
    { draws: [0, 0], want: 'y', why: 'x vs y → y (0 < 5)' },
    { draws: [0, 0.99], want: 'x', why: 'x vs z → x (5 < 10)' },
    { draws: [0.99, 0], want: 'x', why: 'z vs x → x' },
    { draws: [0.99, 0.99], want: 'y', why: 'z vs y → y' },
    { draws: [0.5, 0.99], want: 'y', why: 'y vs z → y' },
    { draws: [0.5, 0], want: 'y', why: 'y vs x → y' },
  ]
  for (const c of cases) t.equal(new P2CBalancer(sequence(...c.draws)).pick(cs, {})!.url, c.want, c.why)
})

t.test('load is in flight per weight', async (t) => {
  const heavy = candidate('heavy', 4, 6) // 1.5 per weight
  const light = candidate('light', 1, 2) // 2 per weight
  t.equal(new P2CBalancer(sequence(0, 0)).pick([heavy, light], {}), heavy)
  t.equal(new P2CBalancer(sequence(0.99, 0)).pick([heavy, light], {}), heavy)
})

t.test('two candidates: always the less loaded, whatever the random source says', async (t) => {
  const a = candidate('a', 1, 3)
  const b = candidate('b', 1, 1)
  const p = new P2CBalancer(mulberry32(3))
  const picks = Array.from({ length: 500 }, () => p.pick([a, b], {})!.url)
  t.strictSame(tally(picks), { b: 500 })
})

t.test('the most loaded of several is never picked', async (t) => {
  const cs = [candidate('a', 1, 1), candidate('b', 1, 2), candidate('c', 1, 3), candidate('d', 1, 9)]
  const p = new P2CBalancer(mulberry32(11))
  const counts = tally(Array.from({ length: 10_000 }, () => p.pick(cs, {})!.url))
  t.equal(counts.d, undefined)
  t.ok(counts.a! > counts.b! && counts.b! > counts.c!, JSON.stringify(counts))
})

t.test('idle candidates: weighted distribution within ±2% over 10,000 picks', async (t) => {
  for (const [i, weights] of ([{ a: 1, b: 1, c: 1 }, { a: 1, b: 2, c: 3, d: 4 }, { a: 3, b: 1 }] as Record<string, number>[]).entries()) {
    const cs = candidates(weights)
    const p = new P2CBalancer(mulberry32(50 + i))
    const counts = tally(Array.from({ length: 10_000 }, () => p.pick(cs, {})!.url))
    for (const [url, share] of Object.entries(weightShares(cs))) {
      const got = (counts[url] ?? 0) / 10_000
      t.ok(Math.abs(got - share) <= 0.02, `${JSON.stringify(weights)} ${url}: ${got} vs ${share}`)
    }
  }
})

t.test('under accumulating load the share follows weight within ±2%', async (t) => {
  const cs = candidates({ a: 1, b: 2, c: 3, d: 4 })
  const p = new P2CBalancer(mulberry32(99))
  const picks: string[] = []
  for (let i = 0; i < 10_000; i++) {
    const c = p.pick(cs, {})!
    c.inFlight++ // never released: in flight grows with the share
    picks.push(c.url)
  }
  const counts = tally(picks)
  for (const [url, share] of Object.entries(weightShares(cs))) {
    t.ok(Math.abs(counts[url]! / 10_000 - share) <= 0.02, `${url}: ${counts[url]} vs ${share}`)
  }
})

t.test('zero or one candidate', async (t) => {
  const p = new P2CBalancer(sequence())
  t.equal(p.pick([], {}), undefined)
  const only = candidate('a', 1, 100)
  t.equal(p.pick([only], {}), only)
})

t.test('the second draw runs over the line without the first candidate', async (t) => {
  // x (5 in flight), y (0), z (10), weights 1: once x is drawn the second draw's line is y [0, 1), z [1, 2) of 2;
  // once z is drawn, x [0, 1), y [1, 2)
  const x = candidate('x', 1, 5)
  const y = candidate('y', 1, 0)
  const z = candidate('z', 1, 10)
  const cs = [x, y, z]
  const cases: { draws: [number, number]; want: string; why: string }[] = [
    { draws: [0, 0.4], want: 'y', why: 'x then 0.4 of [y, z] → y, y wins' },
    { draws: [0, 0.49], want: 'y', why: 'x then 0.49 of [y, z] → y' },
    { draws: [0, 0.5], want: 'x', why: 'x then 0.5 of [y, z] → z, x wins' },
    { draws: [0.99, 0.4], want: 'x', why: 'z then 0.4 of [x, y] → x, x wins' },
    { draws: [0.99, 0.5], want: 'y', why: 'z then 0.5 of [x, y] → y' },
  ]
  for (const c of cases) t.equal(new P2CBalancer(sequence(...c.draws)).pick(cs, {})!.url, c.want, c.why)
  // weighted: a (3) drawn first leaves b (1) and c (4): b [0, 1), c [1, 5) of 5
  const a3 = candidate('a', 3, 9)
  const b1 = candidate('b', 1, 0)
  const c4 = candidate('c', 4, 0)
  t.equal(new P2CBalancer(sequence(0, 0.19)).pick([a3, b1, c4], {}), b1, 'a then 0.19 of 5 → b')
  t.equal(new P2CBalancer(sequence(0, 0.21)).pick([a3, b1, c4], {}), c4, 'a then 0.21 of 5 → c')
})
