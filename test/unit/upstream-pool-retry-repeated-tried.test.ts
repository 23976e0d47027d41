// A retry's `tried` list may name a target more than once: a request that failed on p1 while p1 was the only target
// available, then again on p1 and on p2, has tried [p1, p1, p2]. What it has not tried is what counts: while a target
// it never tried is available, the retry goes there (pool.ts pick(): "an untried target is preferred"; README,
// Retries: "go to a different target whenever there is one"). Counted with repeats, p1 twice would stand for p3, the
// pool would look exhausted and the retry go back to p1 or p2. The same holds for the standby a request reaches once
// every primary failed it. Every balancer, seeded random.
import t from 'tap'
import { createBalancer } from '../../src/balancer/index.ts'
import type { BalancerConfig } from '../../src/config/schema.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import { Target } from '../../src/upstream/target.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'
import { mulberry32 } from './prng.ts'

const BALANCERS: BalancerConfig[] = ['round-robin', 'least-connections', 'random', 'p2c', { type: 'hash', key: 'header:x-user' }]
const nameOf = (b: BalancerConfig): string => typeof b === 'string' ? b : b.type

/** A pool of named targets (names starting with 'b' are backups) with this balancer on a seeded random source. */
function pool (t: { teardown: (fn: () => Promise<void>) => void }, balancer: BalancerConfig, names: string[], seed: number) {
  const config = poolConfig({ balancer, targets: names.map((n, i) => ({ url: `http://127.0.0.1:${i + 1}`, backup: n.startsWith('b') })) })
  const targets = config.targets.map((tc) => new Target(tc, config))
  const p = new UpstreamPool('p', config, targets, createBalancer(config.balancer, mulberry32(seed)), new ManualClock())
  t.teardown(() => p.close())
  const byName = new Map(names.map((n, i) => [n, targets[i]!]))
  return { pool: p, target: (n: string) => byName.get(n)!, name: (x: Target | undefined) => names[targets.indexOf(x!)] ?? 'none' }
}

// [targets, what the request tried (in order), the targets its next attempt may go to]
const CASES: [names: string[], tried: string[], allowed: string[]][] = [
  [['p1', 'p2', 'p3'], ['p1', 'p1', 'p2'], ['p3']],
  [['p1', 'p2', 'p3'], ['p2', 'p1', 'p2'], ['p3']],
  [['p1', 'p2', 'p3'], ['p1', 'p2', 'p1', 'p2'], ['p3']],
  [['p1', 'p2', 'p3'], ['p3', 'p3', 'p1', 'p1'], ['p2']],
  [['p1', 'p2', 'p3'], ['p1', 'p1', 'p1'], ['p2', 'p3']],
  [['p1', 'p2', 'p3', 'p4'], ['p1', 'p1', 'p2', 'p2', 'p3'], ['p4']],
  // every primary failed it: the standby it has not tried yet
  [['p1', 'p2', 'b1', 'b2'], ['p1', 'p2', 'b1', 'b1'], ['b2']],
  [['p1', 'p2', 'b1', 'b2'], ['p1', 'p1', 'p2', 'b1', 'b1'], ['b2']],
]

t.test('a retry goes to a target the request has not tried, however often it tried the others', async (t) => {
  for (const balancer of BALANCERS) {
    for (const [i, [names, tried, allowed]] of CASES.entries()) {
      const f = pool(t, balancer, names, 7 + i)
      const triedTargets = tried.map(f.target)
      const seen = new Set<string>()
      for (let n = 0; n < 100; n++) seen.add(f.name(f.pool.pick({ hashKey: `user-${n}` }, triedTargets)))
      t.strictSame([...seen].sort(), allowed, `${nameOf(balancer)}: ${names.join(',')} tried ${tried.join(',')}`)
    }
  }
})
