// A DNS address joining a checked pool is in after one passing probe only if that is its first probe
// (health/active.ts): once a probe of it has failed, it is a target with a failing record like any other and needs
// healthyThreshold consecutive passes. Letting any later single pass in would put a flapping new address into
// rotation on its first lucky answer.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import type { ProbeResult } from '../../src/health/active.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { waitFor } from '../helpers/gateway.ts'

// probes never fire once started (the manual clock does not move): results are recorded by hand
const healthCheck = { path: '/health', intervalMs: 10_000, timeoutMs: 5_000, healthyThreshold: 3, unhealthyThreshold: 1, jitter: 0 }
const ok = (at: number): ProbeResult => ({ ok: true, status: 200, at })
const failed = (at: number): ProbeResult => ({ ok: false, status: 503, at })

t.test('a joined address whose first probe failed needs healthyThreshold passes', async (t) => {
  const NAME = 'join.first-fails.test'
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: ['127.0.0.2'] })
  const clock = new ManualClock()
  const config = validateConfig({ pools: { p: { healthCheck, targets: [{ dns: NAME, port: 9, refreshMs: 30 }] } }, routes: [{ path: '/', pool: 'p' }] })
  const rt = buildPools(config, { clock, random: () => 0, dnsServers: [dns.address] }).pools.get('p')!
  t.teardown(() => rt.close())
  let started = false
  void rt.start().then(() => { started = true })
  await waitFor(() => { clock.advance(0); return started })
  dns.set(NAME, { a: ['127.0.0.2', '127.0.0.3'] })
  await waitFor(() => rt.pool.targets.length === 2)
  const joined = rt.pool.targets.find((x) => x.url === 'http://127.0.0.3:9')!
  t.equal(rt.pool.state(joined), 'unhealthy', 'joins unchecked')
  rt.health!.record(joined, failed(clock.now()))
  const states: string[] = []
  for (let n = 0; n < 3; n++) {
    rt.health!.record(joined, ok(clock.now()))
    states.push(rt.pool.state(joined))
  }
  t.same(states, ['unhealthy', 'unhealthy', 'healthy'], 'in at the third consecutive pass after the failure')
})
