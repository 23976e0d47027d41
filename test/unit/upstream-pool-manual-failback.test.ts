// failback 'manual': what starts a failover hold and what ends it. Traffic that comes back to the primaries by
// itself (the standby failed too) ends a failover's hold; an operator's switchover is the operator's to end.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { buildPool, poolConfig } from './config-fixtures.ts'

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
