// A target a reload carries over unhealthy (its pool rebuilt, or the target rebuilt for a new weight) needs
// healthyThreshold passing probes to be back, as it would have without the reload. Only a target that joined
// unchecked (a new DNS address in a checked pool) is in after its first passing probe.
import t, { type Test } from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import type { ProbeResult } from '../../src/health/active.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { waitFor } from '../helpers/gateway.ts'

// probes never fire (the manual clock does not move): results are recorded by hand
const healthCheck = { path: '/health', intervalMs: 10_000, timeoutMs: 5_000, healthyThreshold: 3, unhealthyThreshold: 1, jitter: 0 }
const ok = (at: number): ProbeResult => ({ ok: true, status: 200, at })
const failed = (at: number): ProbeResult => ({ ok: false, status: 503, at })

function config (pool: Record<string, unknown>) {
  return validateConfig({ pools: { p: { healthCheck, ...pool } }, routes: [{ path: '/', pool: 'p' }] })
}

/** Passing probes until the target is healthy again (at most 5): how many it took. */
function passesToHealthy (rt: PoolRuntime, url: string, clock: ManualClock): number {
  for (let n = 1; n <= 5; n++) {
    const target = rt.pool.targets.find((x) => x.url === url)!
    rt.health!.record(target, ok(clock.now()))
    if (rt.pool.status(target).healthy) return n
  }
  return Infinity
}

function unhealthyFirst (t: Test, pool: Record<string, unknown>, clock: ManualClock) {
  const before = buildPools(config(pool), { clock, random: () => 0 }).pools
  const old = before.get('p')!
  void old.start()
  t.teardown(() => old.close())
  old.health!.record(old.pool.targets[0]!, failed(clock.now()))
  t.equal(old.pool.state(old.pool.targets[0]!), 'unhealthy')
  return before
}

/** A checked pool discovering `name`, started, that a second address (127.0.0.3) then joins, unchecked. */
async function joinedAddress (t: Test, name: string) {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(name, { a: ['127.0.0.2'] })
  const clock = new ManualClock()
  const rt = buildPools(config({ targets: [{ dns: name, port: 9, refreshMs: 30 }] }), { clock, random: () => 0, dnsServers: [dns.address] }).pools.get('p')!
  t.teardown(() => rt.close())
  // the first round of probes (refused: nothing listens) runs once the first lookup is done and the clock moves
  let started = false
  void rt.start().then(() => { started = true })
  await waitFor(() => { clock.advance(0); return started })
  dns.set(name, { a: ['127.0.0.2', '127.0.0.3'] })
  await waitFor(() => rt.pool.targets.length === 2)
  const joined = rt.pool.targets.find((x) => x.url === 'http://127.0.0.3:9')!
  t.equal(rt.pool.state(joined), 'unhealthy', 'joins unchecked')
  return { rt, joined, clock }
}

t.test('a pool rebuilt by a reload: a carried-over unhealthy target needs healthyThreshold passes', async (t) => {
  const clock = new ManualClock()
  const targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2']
  const before = unhealthyFirst(t, { targets, timeouts: { requestMs: 30_000 } }, clock)
  const { pools } = buildPools(config({ targets, timeouts: { requestMs: 20_000 } }), { clock, random: () => 0 }, before)
  const rt = pools.get('p')!
  t.teardown(() => rt.close())
  t.not(rt, before.get('p'), 'rebuilt')
  void rt.start()
  t.equal(rt.pool.state(rt.pool.targets[0]!), 'unhealthy', 'carried over')
  t.equal(passesToHealthy(rt, targets[0]!, clock), 3)
})

t.test('a target rebuilt for a new weight: a carried-over unhealthy status needs healthyThreshold passes', async (t) => {
  const clock = new ManualClock()
  const before = unhealthyFirst(t, { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] }, clock)
  const { pools } = buildPools(config({ targets: [{ url: 'http://127.0.0.1:1', weight: 5 }, 'http://127.0.0.1:2'] }), { clock, random: () => 0 }, before)
  const rt = pools.get('p')!
  t.equal(rt, before.get('p'), 'the same pool runtime')
  t.equal(rt.pool.state(rt.pool.targets[0]!), 'unhealthy', 'carried over')
  t.equal(passesToHealthy(rt, 'http://127.0.0.1:1', clock), 3)
})

t.test('a DNS address joining a checked pool is in after its first passing probe', async (t) => {
  const { rt, joined, clock } = await joinedAddress(t, 'join.threshold.test')
  t.equal(passesToHealthy(rt, joined.url, clock), 1)
})

// A DNS address joining a checked pool is in after one passing probe only if that is its first probe
// (health/active.ts): once a probe of it has failed, it is a target with a failing record like any other and needs
// healthyThreshold consecutive passes. Letting any later single pass in would put a flapping new address into
// rotation on its first lucky answer.
t.test('a joined address whose first probe failed needs healthyThreshold passes', async (t) => {
  const { rt, joined, clock } = await joinedAddress(t, 'join.first-fails.test')
  rt.health!.record(joined, failed(clock.now()))
  const states: string[] = []
  for (let n = 0; n < 3; n++) {
    rt.health!.record(joined, ok(clock.now()))
    states.push(rt.pool.state(joined))
  }
  t.same(states, ['unhealthy', 'unhealthy', 'healthy'], 'in at the third consecutive pass after the failure')
})
