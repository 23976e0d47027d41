import t from 'tap'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import { INITIAL_STATUS } from '../../src/upstream/status.ts'
import type { Target } from '../../src/upstream/target.ts'
import { buildPool, type PoolFixture } from './config-fixtures.ts'

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
