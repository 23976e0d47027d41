import t from 'tap'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import { candidate, candidates, tally, type TestCandidate } from './prng.ts'

function run (b: RoundRobinBalancer, cs: readonly TestCandidate[], n: number): string[] {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(b.pick(cs, {})!.url)
  return out
}

t.test('exact smooth weighted round-robin sequences', async (t) => {
  const cases: { name: string; weights: Record<string, number>; expect: string }[] = [
    { name: '3:1 interleaves, never a burst', weights: { a: 3, b: 1 }, expect: 'aaba aaba aaba' },
    { name: 'nginx 5:1:1 example', weights: { a: 5, b: 1, c: 1 }, expect: 'aabacaa aabacaa' },
    { name: 'equal weights cycle in order', weights: { a: 1, b: 1, c: 1 }, expect: 'abc abc abc' },
    { name: 'equal weights > 1 still cycle', weights: { a: 4, b: 4 }, expect: 'ab ab ab' },
    { name: '2:1', weights: { a: 2, b: 1 }, expect: 'aba aba' },
    { name: '1:3 favours the heavier second', weights: { a: 1, b: 3 }, expect: 'babb babb' },
    { name: 'fractional weights 1.5:0.5 behave as 3:1', weights: { a: 1.5, b: 0.5 }, expect: 'aaba aaba' },
    { name: '4:2:1', weights: { a: 4, b: 2, c: 1 }, expect: 'abacaba abacaba' },
  ]
  for (const c of cases) {
    const expect = c.expect.replace(/ /g, '').split('')
    t.strictSame(run(new RoundRobinBalancer(), candidates(c.weights), expect.length), expect, c.name)
  }
})

t.test('each full cycle gives every candidate exactly its weight', async (t) => {
  const cs = candidates({ a: 7, b: 3, c: 2, d: 1 })
  const b = new RoundRobinBalancer()
  for (let cycle = 0; cycle < 5; cycle++) {
    t.strictSame(tally(run(b, cs, 13)), { a: 7, b: 3, c: 2, d: 1 }, `cycle ${cycle}`)
  }
})

t.test('zero or one candidate', async (t) => {
  const b = new RoundRobinBalancer()
  t.equal(b.pick([], {}), undefined, 'empty set → undefined')
  const only = candidate('a', 5)
  for (let i = 0; i < 3; i++) t.equal(b.pick([only], {}), only, 'single candidate always picked')
})

t.test('returns the candidate object itself', async (t) => {
  const cs = candidates({ a: 1, b: 1 })
  const picked = new RoundRobinBalancer().pick(cs, {})
  t.equal(picked, cs[0])
})

t.test('changing candidate sets', async (t) => {
  t.test('a removed candidate is never picked and the rest share evenly', async (t) => {
    const [a, b2, c] = candidates({ a: 1, b: 1, c: 1 })
    const bal = new RoundRobinBalancer()
    run(bal, [a!, b2!, c!], 4)
    const seq = run(bal, [a!, c!], 100)
    t.notOk(seq.includes('b'))
    const counts = tally(seq)
    t.ok(Math.abs(counts.a! - 50) <= 1 && Math.abs(counts.c! - 50) <= 1, JSON.stringify(counts))
    // the departed candidate's credit may cause one repeat, never a burst
    t.notOk(/aaa|ccc/.test(seq.join('')), seq.join(''))
    t.match(seq.slice(4).join(''), /^(ac)+$|^(ca)+$/, 'strict alternation once settled')
  })

  t.test('a newly added candidate gets its share at once', async (t) => {
    const [a, b2, c] = candidates({ a: 1, b: 1, c: 2 })
    const bal = new RoundRobinBalancer()
    run(bal, [a!, b2!], 5)
    const seq = run(bal, [a!, b2!, c!], 400)
    t.ok(seq.slice(0, 2).includes('c'), 'the new candidate is picked within the first two picks')
    const counts = tally(seq)
    t.ok(Math.abs(counts.a! - 100) <= 1 && Math.abs(counts.b! - 100) <= 1 && Math.abs(counts.c! - 200) <= 1, JSON.stringify(counts))
  })

  t.test('a candidate that leaves and returns is balanced again', async (t) => {
    const cs = candidates({ a: 3, b: 1, c: 1 })
    const bal = new RoundRobinBalancer()
    run(bal, cs, 7)
    run(bal, [cs[1]!, cs[2]!], 3) // a out for a while
    const counts = tally(run(bal, cs, 500))
    t.ok(Math.abs(counts.a! - 300) <= 2 && Math.abs(counts.b! - 100) <= 2 && Math.abs(counts.c! - 100) <= 2, JSON.stringify(counts))
  })

  t.test('a fresh array holding the same candidates keeps the same schedule', async (t) => {
    const cs = candidates({ a: 3, b: 1 })
    const bal = new RoundRobinBalancer()
    const seq: string[] = []
    for (let i = 0; i < 8; i++) seq.push(bal.pick([...cs], {})!.url)
    t.strictSame(seq.join(''), 'aabaaaba')
  })

  t.test('balancers keep no shared state', async (t) => {
    const cs = candidates({ a: 3, b: 1 })
    const one = new RoundRobinBalancer()
    run(one, cs, 3)
    t.strictSame(run(new RoundRobinBalancer(), cs, 4).join(''), 'aaba')
  })
})

t.test('a list that shrinks to one candidate lets the others go (no schedule keeps a removed target)', async (t) => {
  const { waitUntilCollected } = await import('../helpers/collected.ts')
  const b = new RoundRobinBalancer()
  const kept = candidate('a', 1)
  let gone: TestCandidate | undefined = candidate('b', 1)
  const goneRef = new WeakRef(gone)
  t.strictSame(run(b, [kept, gone], 4), ['a', 'b', 'a', 'b'])
  gone = undefined
  t.equal(b.pick([kept], {})?.url, 'a')
  await waitUntilCollected(() => goneRef.deref() === undefined ? [] : ['b'], (held) => { throw new Error(`still held: ${held.join(', ')}`) })
  t.pass('the removed candidate was collected')
})

t.test('retries: an avoided target loses its turn, the rest keep theirs', async (t) => {
  // each row: weights, then a string of picks, lower case a plain pick, upper case a retry avoiding `a`
  const cases: { name: string; weights: Record<string, number>; expect: string }[] = [
    // a plain pick keeps a's turns; the retries take b's and c's in turn (not two b's in a row)
    { name: '3:1:1, every other pick a retry off a', weights: { a: 3, b: 1, c: 1 }, expect: 'aBaCaBaCaBaCaBaC' },
    // a holds most of the weight: the schedule's next turns are all a's, so the fallback step over b and c
    // runs, and it too must alternate b and c (and leave the plain picks to a)
    { name: '10:1:1, retries only', weights: { a: 10, b: 1, c: 1 }, expect: 'BCBCBCBC' },
    { name: '10:1:1, a plain pick after the retries', weights: { a: 10, b: 1, c: 1 }, expect: 'BCBCaaab' },
  ]
  for (const c of cases) {
    const cs = candidates(c.weights)
    const bal = new RoundRobinBalancer()
    const got = c.expect.split('').map((x) => x === x.toUpperCase()
      ? bal.pick(cs, {}, [cs[0]!])!.url.toUpperCase()
      : bal.pick(cs, {})!.url)
    t.strictSame(got.join(''), c.expect, c.name)
  }
})

t.test('the schedule stays exact past its periodic rebase (65,536 picks)', async (t) => {
  // the schedule rebases its counters every 65,536 picks: weights must keep interleaving the same way after it
  for (const weights of [{ a: 3, b: 1 }, { a: 5, b: 1, c: 1 }, { a: 4, b: 2, c: 1 }] as Record<string, number>[]) {
    const cs = candidates(weights)
    const cycle = Object.values(weights).reduce((s, w) => s + w, 0)
    const bal = new RoundRobinBalancer()
    const first = run(bal, cs, cycle).join('')
    run(bal, cs, 65_536 - cycle - (65_536 % cycle) + cycle) // up to a whole number of cycles, just before the rebase
    const later = Array.from({ length: 4 }, () => run(bal, cs, cycle).join(''))
    t.strictSame(later, [first, first, first, first], JSON.stringify(weights))
  }
})
