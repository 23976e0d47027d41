import t from 'tap'
import { HashBalancer } from '../../src/balancer/hash.ts'
import { candidate, type TestCandidate } from './prng.ts'

// A target's share of the keys depends only on its own url and weight, so adding or removing one target (a target
// going unhealthy shrinks the list too) moves only that target's keys, never keys between targets that stayed:
// at pool sizes and total weights on either side of any point budget, and with weights far apart.
const KEYS = 5000
const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`)
const pool = (weights: readonly number[]): TestCandidate[] =>
  weights.map((w, i) => candidate(`http://10.0.${i >> 8}.${i & 255}:80`, w))
const same = (n: number, w: number): number[] => Array.from({ length: n }, () => w)
const owners = (list: readonly TestCandidate[]): string[] => {
  const h = new HashBalancer()
  return keys.map((k) => h.pick(list, { hashKey: k })!.url)
}

const cases: { name: string; weights: number[]; added: number }[] = [
  { name: '10 × 1, add 1', weights: same(10, 1), added: 1 },
  { name: '261 × 1, add 1 (total crosses 262)', weights: same(261, 1), added: 1 },
  { name: '524 × 1, add 1', weights: same(524, 1), added: 1 },
  { name: '2 × 100, add 100', weights: same(2, 100), added: 100 },
  { name: '5 × 100, add 100', weights: same(5, 100), added: 100 },
  { name: '4 × 50, add 50', weights: same(4, 50), added: 50 },
  { name: 'spread weights, add 1', weights: [0.01, 0.3, 1, 2, 3, 50, 700, 1e4], added: 1 },
  { name: 'spread weights, add 1e5', weights: [0.01, 0.3, 1, 2, 3, 50, 700, 1e4], added: 1e5 },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const before = pool(c.weights)
    const extra = candidate('http://10.9.9.9:80', c.added)
    const after = [...before, extra]
    const a = owners(before)
    const b = owners(after)
    let moved = 0
    let between = 0
    for (let i = 0; i < KEYS; i++) {
      if (a[i] === b[i]) continue
      moved++
      if (b[i] !== extra.url) between++
    }
    t.equal(between, 0, 'adding: no key moves between targets that stayed')
    const share = c.added / (c.weights.reduce((s, w) => s + w, 0) + c.added)
    t.ok(Math.abs(moved / KEYS - share) <= 0.02, `adding moves ~its share: ${moved / KEYS} vs ${share}`)

    // removing each of a few targets (the new one, the first, the heaviest) moves exactly the keys it owned
    for (const removed of [extra, after[0]!, after[c.weights.indexOf(Math.max(...c.weights))]!]) {
      const fewer = after.filter((x) => x !== removed)
      const r = owners(fewer)
      let wrong = 0
      let movedOff = 0
      for (let i = 0; i < KEYS; i++) {
        if (b[i] === removed.url) movedOff++
        else if (r[i] !== b[i]) wrong++
      }
      t.equal(wrong, 0, `removing ${removed.url}: no other key moves`)
      t.equal(r.filter((u, i) => u !== b[i]).length, movedOff, `removing ${removed.url}: exactly its keys move`)
      // a retry avoiding the target goes where the key would go without it
      const h = new HashBalancer()
      const avoided = keys.map((k) => h.pick(after, { hashKey: k }, [removed])!.url)
      t.same(avoided, r, `avoiding ${removed.url} = removing it`)
    }
  })
}
