// The upstream pool (src/upstream/pool.ts): each subtest is one behaviour, named as its file was.
import t from 'tap'
import { buildPool, poolConfig, type PoolFixture } from './config-fixtures.ts'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import type { Clock, Timer } from '../../src/runtime.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import { Target } from '../../src/upstream/target.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { createBalancer } from '../../src/balancer/index.ts'
import type { BalancerConfig } from '../../src/config/schema.ts'
import type { TargetStatus } from '../../src/upstream/status.ts'
import { mulberry32 } from './prng.ts'
import { INITIAL_STATUS } from '../../src/upstream/status.ts'

// Closing a pool (shutdown, or a retired pool's deadline) closes every target it still holds, those a reload removed
// that were still finishing requests included: their connections to the upstream must not outlive the pool
// (src/upstream/pool.ts close(): `[...this.#targets, ...this.#retiring]`).
t.test('upstream-pool-close-retiring', async (t) => {
  t.test("close() closes the pool's targets and the removed ones still busy", async (t) => {
    const f = buildPool(['p1', 'p2'])
    const { p1, p2 } = f.byName
    const closed = new Set<string>()
    for (const x of [p1!, p2!]) {
      const close = x.close.bind(x)
      x.close = () => { closed.add(x.id); return close() }
    }
    f.pool.acquire(p2!)
    f.pool.setTargets([p1!])
    t.strictSame(f.pool.retiring, [p2], 'p2 still finishes its request')
    t.equal(closed.size, 0)
    await f.pool.close()
    t.strictSame([...closed].sort(), [p1!.id, p2!.id].sort(), 'both closed')
  })
})

// A drained target is one whose last request ended: an operator (or a rolling deploy script waiting on the event
// feed) stops the upstream on 'drained', so it must not come while another request still runs on it
// (src/upstream/pool.ts release(): `if (target.inFlight === 0) {`).
t.test('upstream-pool-drained-last-request', async (t) => {
  t.test("'drained' comes once, when the last of several requests ends, not at the first", async (t) => {
    const f = buildPool(['p1', 'p2'])
    t.teardown(() => f.pool.close())
    const { p1 } = f.byName
    const drained: string[] = []
    f.pool.on('drained', (target) => drained.push(target.id))
    f.pool.acquire(p1!)
    f.pool.acquire(p1!)
    f.pool.setStatus(p1!, { draining: true })
    f.pool.release(p1!)
    t.strictSame(drained, [], 'one request still runs: not drained')
    t.equal(f.pool.state(p1!), 'draining')
    f.pool.release(p1!)
    t.strictSame(drained, [p1!.id], 'drained once the last one ended')
  })
})

// A target's status change is announced before the tier change it causes: the event feed and the log read
// "a unhealthy, then failover", not the failover first.
t.test('upstream-pool-event-order', async (t) => {
  t.test('status before tier, both ways', async (t) => {
    const f = buildPool(['p1', 'b1'])
    t.teardown(() => f.pool.close())
    const events: string[] = []
    f.pool.on('status', (_target, status) => events.push(`status healthy=${status.healthy}`))
    f.pool.on('tier', (tier) => events.push(`tier ${tier}`))
    f.pool.setStatus(f.byName.p1!, { healthy: false })
    f.pool.setStatus(f.byName.p1!, { healthy: true })
    t.strictSame(events, ['status healthy=false', 'tier backup', 'status healthy=true', 'tier primary'])
  })
})

// An ejection that ends is an event even when no request comes (the operator's event feed says "back in"): the pool
// arms a timer at its end. Node's timers may fire a millisecond before the wall clock reaches the expiry; such a timer
// finds nothing to expire and must be armed again, or the target's return goes untold until a request happens to
// come (src/upstream/pool.ts #scheduleExpiry(): `if (this.#expiryTimer === undefined) this.#recompute()`).
t.test('upstream-pool-expiry-timer-early', async (t) => {
  /** A clock whose timers fire only when the test says, whatever the time (to fire one early, as the wall clock allows). */
  class EarlyClock implements Clock {
    nowMs = 1_000_000
    readonly timers = new Set<{ at: number; callback: () => void }>()
    now (): number { return this.nowMs }
    setTimeout (callback: () => void, ms: number): Timer {
      const entry = { at: this.nowMs + ms, callback }
      this.timers.add(entry)
      const timer = { entry, refresh: () => timer, unref: () => timer }
      return timer
    }

    clearTimeout (timer: Timer | undefined): void {
      const entry = (timer as { entry?: { at: number; callback: () => void } } | undefined)?.entry
      if (entry !== undefined) this.timers.delete(entry)
    }

    /** Fires the one pending timer now, whatever time it was set for. */
    fire (): void {
      const [entry] = this.timers
      this.timers.delete(entry!)
      entry!.callback()
    }
  }

  t.test('an expiry timer that fires before the ejection ends is armed again, and the return is then told', async (t) => {
    const clock = new EarlyClock()
    const config = poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] })
    const targets = config.targets.map((tc) => new Target(tc, config))
    const pool = new UpstreamPool('p', config, targets, new RoundRobinBalancer(), clock)
    t.teardown(() => pool.close())
    const ended: number[] = []
    pool.on('status', (_target, status, previous) => { if (previous.ejectedUntil !== 0 && status.ejectedUntil === 0) ended.push(clock.nowMs) })
    const until = clock.nowMs + 1000
    pool.setStatus(targets[0]!, { ejectedUntil: until })
    t.equal(clock.timers.size, 1, 'a timer for the end of the ejection')
    clock.nowMs = until - 1
    clock.fire()
    t.strictSame(ended, [], 'fired a millisecond early: nothing ends yet')
    t.equal(clock.timers.size, 1, 'and the timer is armed again')
    t.strictSame([...clock.timers].map((x) => x.at), [until], 'for the same end')
    clock.nowMs = until
    clock.fire()
    t.strictSame(ended, [until], "the ejection's end is told without a request")
  })
})

// A reload that changes a pool's settings builds the pool anew; it takes over (as draining) only the replaced pool's
// targets that still carry requests (src/upstream/pool.ts inherit(): `if (t.ownInFlight === 0 || ...) continue`).
// An idle copy is not the new pool's business: when an ejection carried by URL ends, the operator's event feed tells
// it once, for the running target, not a second time for a copy nothing runs on any more.
t.test('upstream-pool-inherit-idle-copy', async (t) => {
  const config = (balancer: string) => validateConfig({
    pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], balancer } },
    routes: [{ path: '/', pool: 'p' }],
  })

  t.test('an ejection carried into a rebuilt pool ends with one status event, none for the idle replaced copy', async (t) => {
    const clock = new ManualClock()
    const before = buildPools(config('round-robin'), { clock }).pools
    const old = before.get('p')!
    const [oldA] = old.pool.targets
    old.pool.setStatus(oldA!, { ejectedUntil: clock.now() + 1000 })
    const after = buildPools(config('random'), { clock }, before)
    t.teardown(async () => {
      for (const r of after.retired) await r.close()
      for (const r of after.pools.values()) await r.close()
    })
    const pool = after.pools.get('p')!.pool
    t.not(pool, old.pool, 'the pool was rebuilt')
    const [a] = pool.targets
    t.equal(pool.state(a!), 'ejected', 'the ejection is carried by URL')
    const events: { id: string; sameObject: boolean; ejectedUntil: number }[] = []
    pool.on('status', (target, status) => events.push({ id: target.id, sameObject: target === a, ejectedUntil: status.ejectedUntil }))
    clock.advance(1000)
    t.strictSame(events, [{ id: '127.0.0.1:1', sameObject: true, ejectedUntil: 0 }], 'one event, for the running target')
    t.equal(pool.state(a!), 'healthy')
  })
})

// A replica added to a reads pool is lagging because its lag is not known yet (lagUnknown); once it reports a lag
// that is still too high it stays out, but for a different reason, and the operator's event feed must say so
// ("replica behind", not "lag not reported yet"). That change of lagUnknown alone is a status change
// (src/upstream/pool.ts setStatus(): `next.lagUnknown === previous.lagUnknown` in the no-change test).
t.test('upstream-pool-lag-unknown-change', async (t) => {
  t.test('a change of lagUnknown alone is a status change with its event', async (t) => {
    const f = buildPool(['p1', 'p2'])
    t.teardown(() => f.pool.close())
    const { p1 } = f.byName
    f.pool.setStatus(p1!, { lagging: true, lagUnknown: true })
    t.equal(f.statuses.length, 1)
    f.pool.setStatus(p1!, { lagging: true, lagUnknown: undefined })
    t.equal(f.statuses.length, 2, 'the lag became known: one more status event')
    t.equal(f.pool.status(p1!).lagUnknown, undefined, 'the pool keeps the new status')
    t.equal(f.statuses[1]![2].lagUnknown, true, 'the event carries the previous status')
    t.equal(f.pool.state(p1!), 'lagging', 'still out of the reads pool')
  })
})

// failback 'manual': what starts a failover hold and what ends it. Traffic that comes back to the primaries by
// itself (the standby failed too) ends a failover's hold; an operator's switchover is the operator's to end.
t.test('upstream-pool-manual-failback', async (t) => {
  t.test('a failover hold ends once traffic is back on the primaries by itself', async (t) => {
    const f = buildPool(['p1', 'b1'], { failback: 'manual' })
    t.teardown(() => f.pool.close())
    const { p1, b1 } = f.byName
    f.pool.setStatus(p1!, { healthy: false })
    t.equal(f.pool.hold, 'failover')
    f.pool.setStatus(b1!, { healthy: false })
    t.equal(f.pool.tier, 'none')
    f.pool.setStatus(p1!, { healthy: true })
    t.equal(f.pool.tier, 'primary')
    t.equal(f.pool.hold, undefined, 'the primaries serve again: nothing is held')
    f.pool.setStatus(b1!, { healthy: true })
    t.equal(f.pool.tier, 'primary', 'the standby coming back does not take traffic off a healthy primary')
    t.strictSame(f.tiers, [['backup', 'primary'], ['none', 'backup'], ['primary', 'none']])
  })

  t.test('the primaries failing after the standby did is still a failover once the standby returns', async (t) => {
    const f = buildPool(['p1', 'b1'], { failback: 'manual' })
    t.teardown(() => f.pool.close())
    const { p1, b1 } = f.byName
    f.pool.setStatus(b1!, { healthy: false })
    f.pool.setStatus(p1!, { healthy: false })
    t.equal(f.pool.tier, 'none')
    f.pool.setStatus(b1!, { healthy: true })
    t.equal(f.pool.tier, 'backup')
    t.equal(f.pool.hold, 'failover')
    f.pool.setStatus(p1!, { healthy: true })
    t.equal(f.pool.tier, 'backup')
  })

  t.test("an operator's switchover outlives the standby going away", async (t) => {
    const f = buildPool(['p1', 'b1'], { failback: 'manual' })
    t.teardown(() => f.pool.close())
    const { b1 } = f.byName
    f.pool.switchover()
    t.equal(f.pool.hold, 'operator')
    f.pool.setStatus(b1!, { healthy: false })
    t.equal(f.pool.tier, 'primary', 'never stranded')
    t.equal(f.pool.hold, 'operator')
    f.pool.setStatus(b1!, { healthy: true })
    t.equal(f.pool.tier, 'backup')
  })

  t.test('a failover hold survives a reload that rebuilds the pool', async (t) => {
    const config = (requestMs: number) => validateConfig({
      pools: { p: { targets: ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', backup: true }], failback: 'manual', timeouts: { requestMs } } },
      routes: [{ path: '/', pool: 'p' }],
    })
    const options = { clock: new ManualClock() }
    const before = buildPools(config(30_000), options).pools
    const old = before.get('p')!
    const primary = old.pool.targets.find((x) => !x.backup)!
    old.pool.setStatus(primary, { healthy: false })
    old.pool.setStatus(primary, { healthy: true })
    t.equal(old.pool.hold, 'failover')
    const { pools, retired } = buildPools(config(20_000), options, before)
    const rt = pools.get('p')!
    t.teardown(async () => {
      await rt.close()
      for (const r of retired) await r.close()
    })
    t.not(rt, old, 'rebuilt')
    t.equal(rt.pool.tier, 'backup')
    t.equal(rt.pool.hold, 'failover')
  })

  t.test("a reload to failback 'manual' while failed over (under 'auto') holds the backups", async (t) => {
    const config = (failback: string) => validateConfig({
      pools: { p: { targets: ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', backup: true }], failback } },
      routes: [{ path: '/', pool: 'p' }],
    })
    const options = { clock: new ManualClock() }
    const before = buildPools(config('auto'), options).pools
    const old = before.get('p')!
    const primary = old.pool.targets.find((x) => !x.backup)!
    old.pool.setStatus(primary, { healthy: false })
    t.equal(old.pool.tier, 'backup')
    t.equal(old.pool.hold, undefined, "'auto' holds nothing")
    const { pools, retired } = buildPools(config('manual'), options, before)
    const rt = pools.get('p')!
    t.teardown(async () => {
      await rt.close()
      for (const r of retired) await r.close()
    })
    t.equal(rt.pool.hold, 'failover')
    rt.pool.setStatus(rt.pool.targets.find((x) => !x.backup)!, { healthy: true })
    t.equal(rt.pool.tier, 'backup', 'the primary back: still held')
  })

  t.test("an operator's drain or disable of the last primary is no failover: its enable brings traffic back", async (t) => {
    for (const out of [{ draining: true }, { disabled: true }]) {
      const f = buildPool(['p1', 'b1'], { failback: 'manual' })
      t.teardown(() => f.pool.close())
      const { p1 } = f.byName
      f.pool.setStatus(p1!, out)
      t.equal(f.pool.tier, 'backup', `${Object.keys(out)[0]}: the backup serves`)
      // a redeployed target fails its health checks while it is out: still the operator's doing
      f.pool.setStatus(p1!, { healthy: false })
      t.equal(f.pool.hold, undefined, `${Object.keys(out)[0]}: nothing held`)
      f.pool.setStatus(p1!, { healthy: true, draining: false, disabled: false })
      t.equal(f.pool.tier, 'primary', `${Object.keys(out)[0]}: enabled, the primary serves again`)
    }
  })

  t.test('a primary failing while the other is drained is a failover', async (t) => {
    const f = buildPool(['p1', 'p2', 'b1'], { failback: 'manual' })
    t.teardown(() => f.pool.close())
    const { p1, p2 } = f.byName
    f.pool.setStatus(p1!, { draining: true })
    f.pool.setStatus(p2!, { healthy: false })
    t.equal(f.pool.tier, 'backup')
    t.equal(f.pool.hold, 'failover')
    f.pool.setStatus(p1!, { draining: false })
    t.equal(f.pool.tier, 'backup', 'held until an operator fails back')
  })

  t.test("an operator's switchover ends with a config without backups: a later one added takes no traffic by itself", async (t) => {
    const f = buildPool(['p1', 'b1'])
    t.teardown(() => f.pool.close())
    const { p1, b1 } = f.byName
    const withBackup = f.pool.config
    f.pool.switchover()
    t.equal(f.pool.tier, 'backup')
    f.pool.setTargets([p1!], poolConfig({ targets: [p1!.url] }))
    t.equal(f.pool.tier, 'primary')
    t.equal(f.pool.hold, undefined, 'no hold left armed')
    f.pool.setTargets([p1!, b1!], withBackup)
    t.equal(f.pool.tier, 'primary', 'the backup added again stands by')
  })

  t.test("an operator's switchover outlives a backup name answering nothing for a while", async (t) => {
    const f = buildPool(['p1', 'b1'])
    t.teardown(() => f.pool.close())
    const { p1, b1 } = f.byName
    // the config names its backups by DNS: their addresses come and go with the name's answers
    const byName = poolConfig({ targets: [p1!.url, { dns: 'standby.example', port: 2, backup: true }] })
    f.pool.setTargets([p1!, b1!], byName)
    f.pool.switchover()
    t.equal(f.pool.tier, 'backup')
    f.pool.setTargets([p1!], byName)
    t.equal(f.pool.tier, 'primary', 'never stranded')
    t.equal(f.pool.hold, 'operator')
    f.pool.setTargets([p1!, b1!], byName)
    t.equal(f.pool.tier, 'backup', 'the standby back: the switchover still holds')
  })

  t.test('draining the last serving primary is no failover, though another failed before', async (t) => {
    const f = buildPool(['p1', 'p2', 'b1'], { failback: 'manual' })
    t.teardown(() => f.pool.close())
    const { p1, p2 } = f.byName
    f.pool.setStatus(p2!, { healthy: false })
    t.equal(f.pool.tier, 'primary', 'p1 serves')
    f.pool.setStatus(p1!, { draining: true })
    t.equal(f.pool.tier, 'backup')
    t.equal(f.pool.hold, undefined, "the operator's drain moved the traffic")
    f.pool.setStatus(p1!, { draining: false })
    t.equal(f.pool.tier, 'primary', 'its enable brings it back')
  })

  t.test("a reload that rebuilds the pool without backups does not carry an operator's switchover", async (t) => {
    const config = (targets: unknown[]) => validateConfig({ pools: { p: { targets, failback: 'manual' } }, routes: [{ path: '/', pool: 'p' }] })
    const withBackup = ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', backup: true }]
    const options = { clock: new ManualClock() }
    const before = buildPools(config(withBackup), options).pools
    before.get('p')!.pool.switchover()
    // a new balancer rebuilds the pool
    const middle = buildPools(validateConfig({ pools: { p: { targets: ['http://127.0.0.1:1'], failback: 'manual', balancer: 'random' } }, routes: [{ path: '/', pool: 'p' }] }), options, before)
    const rt = middle.pools.get('p')!
    t.equal(rt.pool.hold, undefined, 'no backups: nothing held')
    const after = buildPools(config(withBackup), options, middle.pools)
    t.teardown(async () => {
      for (const r of [...after.pools.values(), ...after.retired, ...middle.retired]) await r.close()
    })
    t.equal(after.pools.get('p')!.pool.tier, 'primary', 'the backup back: it stands by')
  })
})

// The pool's pick path with every balancer (injected random sources): weights hold over a long run, a status
// change takes effect on the very next pick, and retries avoid what they tried.
t.test('upstream-pool-pick', async (t) => {
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
})

// A target removed while busy, added back (a new copy sharing its load) and removed again: the newer copy had nothing
// of its own and closed, so when the old copy's last request ends the upstream has drained, and the pool says so
// once ('drained', as the event feed tells it). Nobody else is left to tell it
// (src/upstream/pool.ts release(): `newest === target || !this.#status.has(newest)`).
t.test('upstream-pool-removed-copy-drained', async (t) => {
  t.test('the old copy drains when its newer copy has left the pool', async (t) => {
    const f = buildPool(['p1', 'p2'])
    t.teardown(() => f.pool.close())
    const { p1, p2 } = f.byName
    const drained: Target[] = []
    f.pool.on('drained', (target) => drained.push(target))
    f.pool.acquire(p1!)
    f.pool.setTargets([p2!])
    const again = new Target({ url: p1!.url, weight: 2, backup: false }, f.pool.config, undefined, p1!.shared)
    f.pool.setTargets([p2!, again])
    t.equal(again.inFlight, 1, "the new copy carries the old one's load")
    f.pool.setTargets([p2!])
    t.strictSame(drained, [], 'a request still runs on the upstream')
    f.pool.release(p1!)
    t.equal(drained.length, 1, 'drained once the last request ended')
    t.equal(drained[0], p1, 'told for the copy that ran it')
    t.strictSame(f.pool.retiring, [])
  })
})

// A retry's `tried` list may name a target more than once: a request that failed on p1 while p1 was the only target
// available, then again on p1 and on p2, has tried [p1, p1, p2]. What it has not tried is what counts: while a target
// it never tried is available, the retry goes there (pool.ts pick(): "an untried target is preferred"; README,
// Retries: "go to a different target whenever there is one"). Counted with repeats, p1 twice would stand for p3, the
// pool would look exhausted and the retry go back to p1 or p2. The same holds for the standby a request reaches once
// every primary failed it. Every balancer, seeded random.
t.test('upstream-pool-retry-repeated-tried', async (t) => {
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
})

// While an operator's switchover is armed (it found no backup available, so the primaries kept serving), the
// primaries going down is not counted as a failover that failback 'manual' holds: once a reload drops the backups
// (which ends the switchover) nothing is held, and a backup added later does not keep traffic off a primary that
// has recovered (src/upstream/pool.ts #update(): `!this.#tierSetByOperator` in the failover test).
t.test('upstream-pool-switchover-armed-no-failover', async (t) => {
  t.test('primaries failing under an armed switchover leave no failover hold behind', async (t) => {
    const f = buildPool(['p1', 'b1'], { failback: 'manual' })
    t.teardown(() => f.pool.close())
    const { p1, b1 } = f.byName
    const withBackup = f.pool.config
    f.pool.setStatus(b1!, { disabled: true })
    f.pool.switchover()
    t.equal(f.pool.tier, 'primary', 'no backup available: the primary keeps serving')
    f.pool.setStatus(p1!, { healthy: false })
    t.equal(f.pool.tier, 'none')
    t.equal(f.pool.hold, 'operator')
    f.pool.setTargets([p1!], poolConfig({ targets: [p1!.url], failback: 'manual' }))
    t.equal(f.pool.hold, undefined, 'no backups left: nothing held')
    f.pool.setTargets([p1!, b1!], withBackup)
    f.pool.setStatus(b1!, { disabled: false })
    t.equal(f.pool.tier, 'backup', 'the primary is still down: the backup serves')
    f.pool.setStatus(p1!, { healthy: true })
    t.equal(f.pool.tier, 'primary', 'the primary recovered: traffic is back on it')
  })
})


t.test('upstream-pool', async (t) => {
  function fixture (t: { teardown: (fn: () => Promise<void>) => void }, names: string[], pool: Record<string, unknown> = {}): PoolFixture {
    const f = buildPool(names, pool)
    t.teardown(() => f.pool.close())
    return f
  }

  const urlsOf = (targets: readonly Target[]): string[] => targets.map((x) => x.url)
  const pickMany = (f: PoolFixture, n: number): Set<Target> => {
    const seen = new Set<Target>()
    for (let i = 0; i < n; i++) { const x = f.pool.pick({}); if (x) seen.add(x) }
    return seen
  }

  t.test('targets are built from the validated config', async (t) => {
    const f = fixture(t, ['p1', 'b1'])
    const { p1, b1 } = f.byName
    t.equal(p1!.url, 'http://127.0.0.1:1')
    t.equal(p1!.host, '127.0.0.1:1')
    t.equal(p1!.backup, false)
    t.equal(b1!.backup, true)
    t.equal(p1!.inFlight, 0)
    t.strictSame(f.pool.status(p1!), INITIAL_STATUS)
    t.equal(f.pool.name, 'p')
  })

  t.test('backups take no traffic while a primary is available', async (t) => {
    const f = fixture(t, ['p1', 'p2', 'b1'])
    t.equal(f.pool.tier, 'primary')
    t.strictSame(urlsOf(f.pool.available()), urlsOf([f.byName.p1!, f.byName.p2!]))
    t.strictSame(pickMany(f, 50), new Set([f.byName.p1, f.byName.p2]))
    f.pool.setStatus(f.byName.p1!, { healthy: false })
    t.strictSame(pickMany(f, 50), new Set([f.byName.p2]), 'one primary left still carries everything')
    t.equal(f.pool.tier, 'primary')
    t.strictSame(f.tiers, [], 'no tier change')
  })

  t.test('failover to backups and automatic failback', async (t) => {
    const f = fixture(t, ['p1', 'p2', 'b1', 'b2'])
    const { p1, p2, b1, b2 } = f.byName
    f.pool.setStatus(p1!, { healthy: false })
    f.pool.setStatus(p2!, { disabled: true })
    t.equal(f.pool.tier, 'backup')
    t.strictSame(pickMany(f, 20), new Set([b1, b2]))
    t.strictSame(f.tiers, [['backup', 'primary']])
    f.pool.setStatus(p1!, { healthy: true })
    t.equal(f.pool.tier, 'primary', "failback 'auto': back as soon as a primary is available")
    t.strictSame(pickMany(f, 20), new Set([p1]))
    t.strictSame(f.tiers.at(-1), ['primary', 'backup'])
  })

  t.test('every reason a target is unavailable counts', async (t) => {
    const f = fixture(t, ['p1', 'b1'])
    const { p1 } = f.byName
    for (const change of [{ healthy: false }, { draining: true }, { disabled: true }, { ejectedUntil: f.clock.now() + 1000 }]) {
      f.pool.setStatus(p1!, change)
      t.equal(f.pool.tier, 'backup', JSON.stringify(change))
      f.pool.setStatus(p1!, INITIAL_STATUS)
      t.equal(f.pool.tier, 'primary', `${JSON.stringify(change)} undone`)
    }
  })

  t.test('nothing available: tier none, pick undefined', async (t) => {
    const f = fixture(t, ['p1', 'b1'])
    f.pool.setStatus(f.byName.p1!, { healthy: false })
    f.pool.setStatus(f.byName.b1!, { healthy: false })
    t.equal(f.pool.tier, 'none')
    t.strictSame(f.pool.available(), [])
    t.equal(f.pool.pick({}), undefined)
    t.strictSame(f.tiers, [['backup', 'primary'], ['none', 'backup']])
    f.pool.setStatus(f.byName.b1!, { healthy: true })
    t.equal(f.pool.tier, 'backup')
  })

  t.test("failback 'manual' stays on backups until failback()", async (t) => {
    const f = fixture(t, ['p1', 'b1'], { failback: 'manual' })
    const { p1, b1 } = f.byName
    f.pool.setStatus(p1!, { healthy: false })
    t.equal(f.pool.tier, 'backup')
    f.pool.setStatus(p1!, { healthy: true })
    t.equal(f.pool.tier, 'backup', 'primary healthy again, traffic stays on standby')
    t.strictSame(pickMany(f, 10), new Set([b1]))
    f.pool.failback()
    t.equal(f.pool.tier, 'primary')
    t.strictSame(pickMany(f, 10), new Set([p1]))
    t.strictSame(f.tiers, [['backup', 'primary'], ['primary', 'backup']])
  })

  t.test("failback 'manual' never strands traffic: no backup available → primaries", async (t) => {
    const f = fixture(t, ['p1', 'b1'], { failback: 'manual' })
    const { p1, b1 } = f.byName
    f.pool.setStatus(p1!, { healthy: false })
    f.pool.setStatus(p1!, { healthy: true })
    t.equal(f.pool.tier, 'backup')
    f.pool.setStatus(b1!, { healthy: false })
    t.equal(f.pool.tier, 'primary', 'the standby went away: primaries serve')
  })

  t.test('switchover() moves traffic to backups until failback()', async (t) => {
    const f = fixture(t, ['p1', 'p2', 'b1'])
    f.pool.switchover()
    t.equal(f.pool.tier, 'backup')
    t.strictSame(pickMany(f, 10), new Set([f.byName.b1]))
    f.pool.setStatus(f.byName.p1!, { healthy: false })
    f.pool.setStatus(f.byName.p1!, { healthy: true })
    t.equal(f.pool.tier, 'backup', "held even under failback 'auto'")
    f.pool.failback()
    t.equal(f.pool.tier, 'primary')
    t.strictSame(f.tiers, [['backup', 'primary'], ['primary', 'backup']])
  })

  t.test('switchover() with no backup available keeps the primaries', async (t) => {
    const f = fixture(t, ['p1', 'b1'])
    f.pool.setStatus(f.byName.b1!, { disabled: true })
    f.pool.switchover()
    t.equal(f.pool.tier, 'primary')
    t.equal(f.pool.pick({}), f.byName.p1)
  })

  t.test("setStatus emits 'status' only on change", async (t) => {
    const f = fixture(t, ['p1', 'p2'])
    const { p1 } = f.byName
    f.pool.setStatus(p1!, { healthy: true })
    f.pool.setStatus(p1!, {})
    f.pool.setStatus(p1!, { ...INITIAL_STATUS })
    t.strictSame(f.statuses, [], 'no change, no event')
    const before = f.pool.status(p1!)
    f.pool.setStatus(p1!, { draining: true })
    t.equal(f.statuses.length, 1)
    const [name, status, previous] = f.statuses[0]!
    t.equal(name, 'p1')
    t.strictSame(status, { healthy: true, ejectedUntil: 0, draining: true, disabled: false, lagging: false })
    t.equal(previous, before)
    t.equal(f.pool.status(p1!), status, 'the target carries the new status')
    t.ok(Object.isFrozen(f.pool.status(p1!)), 'statuses are frozen')
    f.pool.setStatus(p1!, { draining: true })
    t.equal(f.statuses.length, 1, 'same again: no event')
    f.pool.setStatus(p1!, { draining: false, disabled: true })
    t.equal(f.statuses.length, 2)
  })

  t.test('an ejection expires by the injected clock and the target returns', async (t) => {
    const f = fixture(t, ['p1', 'p2', 'b1'])
    const { p1, p2 } = f.byName
    const start = f.clock.now()
    f.pool.setStatus(p1!, { ejectedUntil: start + 5000 })
    f.pool.setStatus(p2!, { ejectedUntil: start + 8000 })
    t.equal(f.pool.tier, 'backup')
    f.clock.set(start + 4999)
    t.equal(f.pool.tier, 'backup', 'still ejected')
    f.clock.set(start + 5000)
    t.equal(f.pool.tier, 'primary', 'p1 back exactly at ejectedUntil')
    t.strictSame(urlsOf(f.pool.available()), [p1!.url])
    f.clock.set(start + 8000)
    t.strictSame(urlsOf(f.pool.available()), [p1!.url, p2!.url], 'p2 back too')
    t.strictSame(f.tiers, [['backup', 'primary'], ['primary', 'backup']])
    t.strictSame(f.statuses.map(([name, status, previous]) => [name, status.ejectedUntil, previous.ejectedUntil]), [
      ['p1', start + 5000, 0], ['p2', start + 8000, 0], ['p1', 0, start + 5000], ['p2', 0, start + 8000],
    ], 'an ejection that ends is a status change like any other, through the same port')
  })

  t.test('an ejection that ends is an event even when no request comes: the pool sets a timer on its clock', async (t) => {
    const f = fixture(t, ['p1', 'p2'])
    const { p1 } = f.byName
    const until = f.clock.now() + 3000
    f.pool.setStatus(p1!, { ejectedUntil: until })
    t.equal(f.clock.pendingTimers, 1, 'one timer, for the next expiry')
    f.clock.advance(2999)
    t.equal(f.statuses.length, 1, 'nothing before its time')
    f.clock.advance(1)
    t.strictSame(f.statuses.map(([name, status]) => [name, status.ejectedUntil]), [['p1', until], ['p1', 0]])
    t.equal(f.pool.state(p1!), 'healthy')
    t.equal(f.clock.pendingTimers, 0, 'no timer left once nothing is ejected')
  })

  t.test('state(): one word per target, the most decisive reason first; drained once a draining target has nothing in flight', async (t) => {
    const f = fixture(t, ['p1', 'p2'])
    const { p1 } = f.byName
    const drained: string[] = []
    f.pool.on('drained', (target) => drained.push(target.url))
    t.equal(f.pool.state(p1!), 'healthy')
    f.pool.setStatus(p1!, { ejectedUntil: f.clock.now() + 10 })
    t.equal(f.pool.state(p1!), 'ejected')
    f.pool.setStatus(p1!, { healthy: false })
    t.equal(f.pool.state(p1!), 'unhealthy')
    f.pool.acquire(p1!)
    f.pool.setStatus(p1!, { draining: true })
    t.equal(f.pool.state(p1!), 'draining', 'one request still in flight')
    t.strictSame(drained, [])
    f.pool.release(p1!)
    t.equal(f.pool.state(p1!), 'drained')
    t.strictSame(drained, [p1!.url], 'one drained event when the last request ends')
    f.pool.setStatus(p1!, { disabled: true })
    t.equal(f.pool.state(p1!), 'disabled')
    f.pool.setStatus(f.byName.p2!, { draining: true })
    t.strictSame(drained, [p1!.url, f.byName.p2!.url], 'a target with nothing in flight is drained at once')
  })

  t.test('pick(ctx, tried) prefers untried targets and never repeats the last failure when there is a choice', async (t) => {
    const f = fixture(t, ['p1', 'p2', 'p3'])
    const { p1, p2, p3 } = f.byName
    const cases: { tried: Target[]; allowed: Target[] }[] = [
      { tried: [], allowed: [p1!, p2!, p3!] },
      { tried: [p1!], allowed: [p2!, p3!] },
      { tried: [p2!], allowed: [p1!, p3!] },
      { tried: [p1!, p2!], allowed: [p3!] },
      { tried: [p3!, p1!], allowed: [p2!] },
      { tried: [p1!, p2!, p3!], allowed: [p1!, p2!] },
      { tried: [p3!, p2!, p1!], allowed: [p2!, p3!] },
      { tried: [p1!, p1!, p2!, p3!, p2!], allowed: [p1!, p3!] },
    ]
    for (const c of cases) {
      const got = new Set<Target>()
      for (let i = 0; i < 30; i++) got.add(f.pool.pick({}, c.tried)!)
      t.strictSame(urlsOf([...got].sort((a, b) => a.url.localeCompare(b.url))), urlsOf(c.allowed), `tried ${JSON.stringify(c.tried.map((x) => x.url.slice(-1)))}`)
    }
  })

  t.test('pick(ctx, tried) with one target left returns it again', async (t) => {
    const f = fixture(t, ['p1', 'p2'])
    const { p1, p2 } = f.byName
    f.pool.setStatus(p2!, { healthy: false })
    t.equal(f.pool.pick({}, [p1!]), p1, 'no choice: the only target')
    t.equal(f.pool.pick({}, [p2!, p1!]), p1)
    f.pool.setStatus(p2!, { healthy: true })
    const last = new Set<Target>()
    for (let i = 0; i < 20; i++) last.add(f.pool.pick({}, [p1!, p2!])!)
    t.strictSame(last, new Set([p1]), 'both tried: the one that failed last is avoided')
  })

  t.test('the balancer receives only available targets and the request context', async (t) => {
    const seen: { urls: string[]; key: string | undefined }[] = []
    const spy = new RoundRobinBalancer()
    const f = buildPool(['p1', 'p2', 'b1'], {}, {
      pick (candidates, ctx) {
        seen.push({ urls: candidates.map((c) => c.url), key: ctx.hashKey })
        return spy.pick(candidates, ctx)
      },
    })
    t.teardown(() => f.pool.close())
    f.pool.setStatus(f.byName.p2!, { draining: true })
    f.pool.pick({ hashKey: 'k1' })
    t.strictSame(seen, [{ urls: [f.byName.p1!.url], key: 'k1' }])
  })

  t.test("a pool built anew by a reload lists the replaced pool's busy targets as draining until they are idle; disable closes their tunnels", async (t) => {
    const before = fixture(t, ['p1', 'p2'])
    const after = fixture(t, ['p1'])
    const old1 = before.byName.p1!
    const old2 = before.byName.p2!
    before.pool.acquire(old1)
    before.pool.acquire(old2)
    let closed = 0
    const close = (): void => { closed++; old1.tunnelClosed(close); before.pool.release(old1) }
    old1.tunnelOpened(close)
    after.pool.inherit(before.pool)
    t.strictSame(after.pool.retiring, [old1, old2], 'both busy targets are listed')
    t.equal(after.pool.state(old2), 'draining')
    t.strictSame(after.pool.available(), [after.byName.p1], 'and never picked')
    after.pool.setStatus(after.byName.p1!, { disabled: true })
    t.equal(closed, 1, "disabling the new copy closed the old copy's tunnel")
    t.strictSame(after.pool.retiring, [old2], 'an idle one is dropped')
    before.pool.release(old2)
    t.strictSame(after.pool.retiring, [])
  })
})
