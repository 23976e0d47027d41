// Every balancer against a plain reference (a full scan of the list, as the balancers did before they
// precomputed per list), with injected random sources: same choices, and an avoided candidate is never picked.
import t from 'tap'
import { HashBalancer } from '../../src/balancer/hash.ts'
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts'
import { P2CBalancer } from '../../src/balancer/p2c.ts'
import { RandomBalancer } from '../../src/balancer/random.ts'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import type { Balancer, Candidate } from '../../src/balancer/types.ts'
import { candidate, candidates, mulberry32, tally, type TestCandidate } from './prng.ts'

/** nginx's smooth weighted round-robin, one full scan a pick (the reference the schedule must reproduce). */
function nginxReference (): (cs: readonly Candidate[]) => Candidate {
  const current = new Map<Candidate, number>()
  return (cs) => {
    let total = 0
    let best: Candidate | undefined
    let bestWeight = -Infinity
    for (const c of cs) {
      const w = (current.get(c) ?? 0) + c.weight
      current.set(c, w)
      total += c.weight
      if (w > bestWeight) { bestWeight = w; best = c }
    }
    current.set(best!, bestWeight - total)
    return best!
  }
}

t.test("round-robin reproduces nginx's sequence exactly, through list changes", async (t) => {
  const rng = mulberry32(7)
  for (let round = 0; round < 40; round++) {
    const pool = Array.from({ length: 2 + Math.floor(rng() * 12) }, (_, i) => candidate(`t${i}`, 1 + Math.floor(rng() * 6)))
    const bal = new RoundRobinBalancer()
    const ref = nginxReference()
    let list: TestCandidate[] = pool
    const got: string[] = []
    const want: string[] = []
    for (let step = 0; step < 300; step++) {
      // now and then a target leaves or comes back (a new list, as the pool builds one)
      if (rng() < 0.05) list = pool.filter(() => rng() < 0.8)
      if (list.length < 2) list = pool
      got.push(bal.pick(list, {})!.url)
      want.push(ref(list).url)
    }
    t.strictSame(got, want, `round ${round}: weights ${pool.map((c) => c.weight).join(',')}`)
  }
})

t.test('round-robin: many distinct weights still give every candidate exactly its weight per cycle', async (t) => {
  const cs = Array.from({ length: 40 }, (_, i) => candidate(`t${i}`, i + 1))
  const bal = new RoundRobinBalancer()
  const total = cs.reduce((s, c) => s + c.weight, 0)
  const counts = tally(Array.from({ length: total }, () => bal.pick(cs, {})!.url))
  t.strictSame(counts, Object.fromEntries(cs.map((c) => [c.url, c.weight])))
})

/** The least score inFlight / weight of a list: what least-connections must always pick. */
const leastScore = (cs: readonly Candidate[]): number => Math.min(...cs.map((c) => c.inFlight / c.weight))

t.test('least-connections: always a least-loaded candidate while loads change (reported through loadChanged)', async (t) => {
  const rng = mulberry32(3)
  const cs = Array.from({ length: 30 }, (_, i) => candidate(`t${i}`, 1 + (i % 4)))
  const bal = new LeastConnectionsBalancer(mulberry32(4))
  const inFlight: TestCandidate[] = []
  let wrong = 0
  for (let step = 0; step < 5000; step++) {
    if (inFlight.length > 0 && rng() < 0.45) {
      const done = inFlight.splice(Math.floor(rng() * inFlight.length), 1)[0]!
      done.inFlight--
      bal.loadChanged(done)
      continue
    }
    const c = bal.pick(cs, {})!
    if (c.inFlight / c.weight !== leastScore(cs)) wrong++
    c.inFlight++
    bal.loadChanged(c)
    inFlight.push(c)
  }
  t.equal(wrong, 0, 'no pick above the least score')
})

t.test('least-connections: a fresh list reads the loads as they are', async (t) => {
  const cs = [candidate('a', 1, 4), candidate('b', 1, 2), candidate('c', 1, 3)]
  const bal = new LeastConnectionsBalancer(() => 0)
  t.equal(bal.pick(cs, {})!.url, 'b')
  cs[1]!.inFlight = 9 // not reported: only a new list (a new version) sees it
  t.equal(bal.pick([...cs], {})!.url, 'c')
})

interface Case { name: string; make: (seed: number) => Balancer; ctx: (i: number) => { hashKey?: string } }
const balancers: Case[] = [
  { name: 'round-robin', make: () => new RoundRobinBalancer(), ctx: () => ({}) },
  { name: 'least-connections', make: (seed) => new LeastConnectionsBalancer(mulberry32(seed)), ctx: () => ({}) },
  { name: 'random', make: (seed) => new RandomBalancer(mulberry32(seed)), ctx: () => ({}) },
  { name: 'p2c', make: (seed) => new P2CBalancer(mulberry32(seed)), ctx: () => ({}) },
  { name: 'hash (key)', make: () => new HashBalancer(), ctx: (i) => ({ hashKey: `user-${i}` }) },
  { name: 'hash (no key)', make: () => new HashBalancer(), ctx: () => ({}) },
]

t.test('avoid: an avoided candidate is never picked, and the others still all are', async (t) => {
  const cs = candidates({ a: 1, b: 2, c: 3, d: 1, e: 5 })
  const avoidCases: { avoid: TestCandidate[]; allowed: string[] }[] = [
    { avoid: [cs[0]!], allowed: ['b', 'c', 'd', 'e'] },
    { avoid: [cs[4]!], allowed: ['a', 'b', 'c', 'd'] },
    { avoid: [cs[4]!, cs[2]!, cs[4]!], allowed: ['a', 'b', 'd'] },
    { avoid: [cs[0]!, cs[1]!, cs[2]!, cs[3]!], allowed: ['e'] },
    { avoid: [candidate('elsewhere'), cs[1]!], allowed: ['a', 'c', 'd', 'e'] },
  ]
  for (const b of balancers) {
    for (const [i, c] of avoidCases.entries()) {
      const bal = b.make(100 + i)
      const seen = new Set<string>()
      for (const x of cs) x.inFlight = 0
      for (let n = 0; n < 400; n++) {
        const picked = bal.pick(cs, b.ctx(n), c.avoid)!
        // load builds up, so least-connections moves on from the lightest too
        picked.inFlight++
        bal.loadChanged?.(picked)
        seen.add(picked.url)
      }
      // hash with one key per request: 400 keys reach every allowed target
      t.strictSame([...seen].sort(), c.allowed, `${b.name}: avoiding ${c.avoid.map((x) => x.url).join(',')}`)
    }
  }
})

t.test('avoid keeps the weights of the rest: random and p2c within ±2% over 20,000 picks', async (t) => {
  const cs = candidates({ a: 1, b: 2, c: 3, d: 4 })
  for (const [name, bal] of [['random', new RandomBalancer(mulberry32(8))], ['p2c', new P2CBalancer(mulberry32(9))]] as const) {
    const counts = tally(Array.from({ length: 20_000 }, () => bal.pick(cs, {}, [cs[3]!])!.url))
    for (const [url, share] of [['a', 1 / 6], ['b', 2 / 6], ['c', 3 / 6]] as const) {
      t.ok(Math.abs(counts[url]! / 20_000 - share) <= 0.02, `${name} ${url}: ${counts[url]} vs ${share}`)
    }
    t.equal(counts.d, undefined, `${name}: d never`)
  }
})

t.test('hash: avoiding a target sends its keys where they would go without it, and no other key moves', async (t) => {
  const cs = candidates({ t1: 1, t2: 2, t3: 1, t4: 3 })
  const bal = new HashBalancer()
  const without = cs.filter((c) => c.url !== 't2')
  const other = new HashBalancer()
  for (let i = 0; i < 2000; i++) {
    const key = { hashKey: `k${i}` }
    const avoided = bal.pick(cs, key, [cs[1]!])!.url
    if (avoided !== other.pick(without, key)!.url) { t.fail(`key k${i}`); return }
    const usual = bal.pick(cs, key)!.url
    if (usual !== 't2' && usual !== avoided) { t.fail(`key k${i} moved off ${usual}`); return }
  }
  t.pass('2,000 keys')
})

t.test('hash: a 1,000-target ring stays consistent and roughly even', async (t) => {
  const cs = Array.from({ length: 1000 }, (_, i) => candidate(`http://10.0.${i >> 8}.${i & 255}:80`))
  const bal = new HashBalancer()
  const counts = tally(Array.from({ length: 100_000 }, (_, i) => bal.pick(cs, { hashKey: `u${i}` })!.url))
  const values = Object.values(counts)
  t.equal(values.length, 1000, 'every target owns keys')
  // 100 keys each on average; points are fewer per target in a large ring, so a looser bound
  t.ok(Math.max(...values) < 250, `max ${Math.max(...values)}`)
  const removed = cs[500]!
  const smaller = cs.filter((c) => c !== removed)
  let wronglyMoved = 0
  for (let i = 0; i < 20_000; i++) {
    const before = bal.pick(cs, { hashKey: `u${i}` })!
    if (before !== removed && bal.pick(smaller, { hashKey: `u${i}` }) !== before) wronglyMoved++
  }
  t.equal(wronglyMoved, 0, "removing one target moves only that target's keys")
})
