// The pool's pick path with every balancer (injected random sources): weights hold over a long run, a status
// change takes effect on the very next pick, and retries avoid what they tried.
import t from 'tap'
import { createBalancer } from '../../src/balancer/index.ts'
import type { BalancerConfig } from '../../src/config/schema.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import type { TargetStatus } from '../../src/upstream/status.ts'
import { Target } from '../../src/upstream/target.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'
import { mulberry32 } from './prng.ts'

const configs: { name: string; balancer: BalancerConfig; keyed?: boolean }[] = [
  { name: 'round-robin', balancer: 'round-robin' },
  { name: 'least-connections', balancer: 'least-connections' },
  { name: 'random', balancer: 'random' },
  { name: 'p2c', balancer: 'p2c' },
  { name: 'hash', balancer: { type: 'hash', key: 'header:x-user' }, keyed: true },
]

interface Fixture { pool: UpstreamPool; targets: Target[]; clock: ManualClock }

function fixture (t: { teardown: (fn: () => Promise<void>) => void }, balancer: BalancerConfig, weights: number[], seed = 1): Fixture {
  const config = poolConfig({ balancer, targets: weights.map((weight, i) => ({ url: `http://127.0.0.1:${i + 1}`, weight })) })
  const targets = config.targets.map((tc) => new Target(tc, config))
  const clock = new ManualClock()
  const pool = new UpstreamPool('p', config, targets, createBalancer(config.balancer, mulberry32(seed)), clock)
  t.teardown(() => pool.close())
  return { pool, targets, clock }
}

/** n requests, at most `window` in flight (the oldest ends first): how many each target took. */
function serve (f: Fixture, n: number, keyed: boolean, window = 40, tried?: Target[]): Map<Target, number> {
  const counts = new Map<Target, number>()
  const open: Target[] = []
  for (let i = 0; i < n; i++) {
    const target = f.pool.pick(keyed ? { hashKey: `user-${i}` } : {}, tried)
    if (target === undefined) throw new Error('nothing picked')
    f.pool.acquire(target)
    open.push(target)
    if (open.length > window) f.pool.release(open.shift()!)
    counts.set(target, (counts.get(target) ?? 0) + 1)
  }
  for (const target of open) f.pool.release(target)
  return counts
}

t.test('weights are honoured over a long run, within ±2%', async (t) => {
  const weights = [1, 2, 3, 4]
  for (const c of configs) {
    const f = fixture(t, c.balancer, weights, 11)
    const counts = serve(f, 20_000, c.keyed === true)
    f.targets.forEach((target, i) => {
      const share = (counts.get(target) ?? 0) / 20_000
      t.ok(Math.abs(share - weights[i]! / 10) <= 0.02, `${c.name}: weight ${weights[i]} took ${share}`)
    })
    t.ok(f.targets.every((target) => target.inFlight === 0), `${c.name}: every acquire released`)
  }
})

t.test('a target made unavailable is never picked from the next pick on, and returns when restored', async (t) => {
  const changes: { name: string; change: (f: Fixture) => Partial<TargetStatus> }[] = [
    { name: 'unhealthy', change: () => ({ healthy: false }) },
    { name: 'draining', change: () => ({ draining: true }) },
    { name: 'disabled', change: () => ({ disabled: true }) },
    { name: 'ejected', change: (f) => ({ ejectedUntil: f.clock.now() + 10_000 }) },
    { name: 'lagging', change: () => ({ lagging: true }) },
  ]
  for (const c of configs) {
    for (const ch of changes) {
      const f = fixture(t, c.balancer, [1, 1, 2, 1, 3])
      serve(f, 50, c.keyed === true)
      const gone = f.targets[2]!
      f.pool.setStatus(gone, ch.change(f))
      t.notOk(serve(f, 500, c.keyed === true).has(gone), `${c.name}, ${ch.name}: never picked`)
      f.pool.setStatus(gone, { healthy: true, draining: false, disabled: false, ejectedUntil: 0, lagging: false })
      t.ok(serve(f, 500, c.keyed === true).has(gone), `${c.name}, ${ch.name} undone: picked again`)
    }
  }
})

t.test('an ejection ends on the clock: the next pick may take the target again', async (t) => {
  for (const c of configs) {
    const f = fixture(t, c.balancer, [1, 1, 1])
    const ejected = f.targets[0]!
    f.pool.setStatus(ejected, { ejectedUntil: f.clock.now() + 5000 })
    f.clock.set(f.clock.now() + 4999)
    t.notOk(serve(f, 300, c.keyed === true).has(ejected), `${c.name}: still ejected`)
    f.clock.set(f.clock.now() + 1) // no timer fired: the pick itself notices the expiry
    t.ok(serve(f, 300, c.keyed === true).has(ejected), `${c.name}: back at ejectedUntil`)
  }
})

t.test('retries: never a tried target while an untried one is available, with every balancer', async (t) => {
  for (const c of configs) {
    const f = fixture(t, c.balancer, [1, 2, 3, 1])
    const [a, b, cc, d] = f.targets as [Target, Target, Target, Target]
    const cases: { tried: Target[]; allowed: Target[] }[] = [
      { tried: [a], allowed: [b, cc, d] },
      { tried: [cc, b], allowed: [a, d] },
      { tried: [a, b, cc], allowed: [d] },
      { tried: [a, b, cc, d], allowed: [a, b, cc] },
      { tried: [d, a, b, cc, a], allowed: [b, cc, d] },
    ]
    for (const k of cases) {
      const seen = [...serve(f, 200, c.keyed === true, 40, k.tried).keys()]
      t.strictSame(new Set(seen), new Set(k.allowed), `${c.name}: tried ${k.tried.map((x) => f.targets.indexOf(x)).join(',')}`)
    }
  }
})

t.test('retries reach the standby once every primary failed the request', async (t) => {
  for (const c of configs) {
    const config = poolConfig({ balancer: c.balancer, targets: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:3', backup: true }] })
    const targets = config.targets.map((tc) => new Target(tc, config))
    const pool = new UpstreamPool('p', config, targets, createBalancer(config.balancer, mulberry32(2)), new ManualClock())
    t.teardown(() => pool.close())
    t.equal(pool.pick({ hashKey: 'k' }, [targets[0]!, targets[1]!]), targets[2], c.name)
  }
})
