import t from 'tap'
import { fnv1a, HashBalancer } from '../../src/balancer/hash.ts'
import { candidate, candidates, tally, weightShares } from './prng.ts'

const keys = (n: number, prefix = 'user-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

t.test('the same key always goes to the same target', async (t) => {
  const cs = candidates({ a: 1, b: 1, c: 1, d: 1 })
  const h = new HashBalancer()
  for (const key of ['alice', 'bob', '10.0.0.7', 'session=xyz', 'ü-ñ']) {
    const first = h.pick(cs, { hashKey: key })!
    const again = Array.from({ length: 20 }, () => h.pick(cs, { hashKey: key }))
    t.ok(again.every((c) => c === first), `${key} stable`)
    t.equal(new HashBalancer().pick(cs, { hashKey: key })!.url, first.url, `${key}: a new balancer agrees`)
    t.equal(h.pick([...cs].reverse(), { hashKey: key })!.url, first.url, `${key}: candidate order does not matter`)
    t.equal(h.pick(cs.map((c) => candidate(c.url, c.weight, 50)), { hashKey: key })!.url, first.url, `${key}: load does not matter`)
  }
})

t.test('weighted distribution within ±2% over 10,000 keys', async (t) => {
  const table: Record<string, number>[] = [
    { a: 1, b: 1, c: 1, d: 1, e: 1 }, { a: 1, b: 2, c: 3, d: 4 }, { a: 3, b: 1 },
    // weights far apart (separate weight classes inside the ring)
    { a: 1, b: 0.001 }, { a: 1000, b: 1, c: 30 },
  ]
  for (const weights of table) {
    const cs = candidates(weights)
    const h = new HashBalancer()
    const counts = tally(keys(10_000).map((k) => h.pick(cs, { hashKey: k })!.url))
    for (const [url, share] of Object.entries(weightShares(cs))) {
      const got = (counts[url] ?? 0) / 10_000
      t.ok(Math.abs(got - share) <= 0.02, `${JSON.stringify(weights)} ${url}: ${got} vs ${share}`)
    }
  }
})

t.test('fractional weights: shares within ±2% over 100,000 keys, in each of 4 pools', async (t) => {
  // a share comes from the weight itself, not from a point count rounded from it (0.3 → 300 points was ~3% off)
  for (const weights of [[0.3, 0.3, 0.3, 0.1], [0.1, 0.2, 0.7]]) {
    for (let p = 0; p < 4; p++) {
      const cs = weights.map((w, i) => candidate(`http://pool${p}-t${i}:80`, w))
      const h = new HashBalancer()
      const counts = tally(keys(100_000, 'k').map((k) => h.pick(cs, { hashKey: k })!.url))
      for (const [url, share] of Object.entries(weightShares(cs))) {
        const got = (counts[url] ?? 0) / 100_000
        t.ok(Math.abs(got - share) <= 0.02, `${JSON.stringify(weights)} ${url}: ${got} vs ${share}`)
      }
    }
  }
})

t.test('removing one of 5 targets remaps only the keys it owned', async (t) => {
  const five = candidates({ t1: 1, t2: 1, t3: 1, t4: 1, t5: 1 })
  const h = new HashBalancer()
  const ks = keys(10_000, 'session:')
  const before = ks.map((k) => h.pick(five, { hashKey: k })!.url)
  for (const removed of ['t1', 't3', 't5']) {
    const four = five.filter((c) => c.url !== removed)
    let moved = 0
    let wronglyMoved = 0
    ks.forEach((k, i) => {
      const after = h.pick(four, { hashKey: k })!.url
      if (after !== before[i]) moved++
      if (before[i] !== removed && after !== before[i]) wronglyMoved++
    })
    t.equal(wronglyMoved, 0, `removing ${removed}: keys of other targets stay put`)
    t.equal(moved, before.filter((u) => u === removed).length, `removing ${removed}: exactly its keys move`)
    t.ok(Math.abs(moved / 10_000 - 0.2) <= 0.02, `removing ${removed}: ~20% move (${moved})`)
  }
})

t.test('adding a 6th target takes keys only onto itself', async (t) => {
  const five = candidates({ t1: 1, t2: 1, t3: 1, t4: 1, t5: 1 })
  const six = [...five, candidate('t6')]
  const h = new HashBalancer()
  let moved = 0
  let movedElsewhere = 0
  for (const k of keys(10_000)) {
    const a = h.pick(five, { hashKey: k })!.url
    const b = h.pick(six, { hashKey: k })!.url
    if (a !== b) moved++
    if (a !== b && b !== 't6') movedElsewhere++
  }
  t.equal(movedElsewhere, 0, 'every moved key moves to the new target')
  t.ok(Math.abs(moved / 10_000 - 1 / 6) <= 0.02, `~1/6 move (${moved})`)
})

t.test('no key → smooth round-robin fallback', async (t) => {
  for (const hashKey of [undefined, '']) {
    const cs = candidates({ a: 3, b: 1 })
    const h = new HashBalancer()
    const seq = Array.from({ length: 8 }, () => h.pick(cs, { hashKey })!.url).join('')
    t.equal(seq, 'aabaaaba', `hashKey ${JSON.stringify(hashKey)}`)
  }
  const cs = candidates({ a: 1, b: 1, c: 1 })
  const h = new HashBalancer()
  t.equal(Array.from({ length: 6 }, () => h.pick(cs, {})!.url).join(''), 'abcabc', 'equal weights cycle')
})

t.test('zero or one candidate', async (t) => {
  const h = new HashBalancer()
  t.equal(h.pick([], { hashKey: 'k' }), undefined)
  t.equal(h.pick([], {}), undefined)
  const only = candidate('a')
  t.equal(h.pick([only], { hashKey: 'k' }), only)
})

t.test('fnv1a known vectors', async (t) => {
  // FNV-1a 32-bit reference values
  t.equal(fnv1a(''), 0x811c9dc5)
  t.equal(fnv1a('a'), 0xe40c292c)
  t.equal(fnv1a('foobar'), 0xbf9cf968)
})
