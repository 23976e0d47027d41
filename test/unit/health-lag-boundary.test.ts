// maxLagMs is the most lag a replica may report and still take reads: README, "a replica reporting more than maxLagMs
// takes no reads". A replica reporting exactly maxLagMs is in; one millisecond more is out. Judged both when a probe
// reports a lag and when a reload changes maxLagMs over a lag already reported; and end to end, with replicas on
// loopback reporting their lag in x-replication-lag-ms.
import t, { type Test } from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { poolConfig } from './config-fixtures.ts'

/** A started checker on a manual clock (no probe runs unless the clock moves): results are recorded by hand. */
function checked (t: Test) {
  const clock = new ManualClock()
  const runtime = new PoolRuntime('p', poolConfig({ targets: ['http://127.0.0.1:1'], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0, healthyThreshold: 1, unhealthyThreshold: 1 } }), { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  return { runtime, health: runtime.health!, pool: runtime.pool, target: runtime.pool.targets[0]!, clock }
}

const passed = (at: number, lagMs: number): ProbeResult => ({ ok: true, status: 200, at, lagMs })

// [maxLagMs, reported lag, lagging]
const CASES: [maxLagMs: number, lagMs: number, lagging: boolean][] = [
  [1000, 999, false],
  [1000, 1000, false],
  [1000, 1001, true],
  [0, 0, false],
  [0, 1, true],
  [1, 1, false],
  [1, 2, true],
  [30_000, 30_000, false],
  [30_000, 30_001, true],
]

t.test('a probe reporting lag: lagging only above maxLagMs', async (t) => {
  for (const [maxLagMs, lagMs, lagging] of CASES) {
    const { runtime, health, pool, target, clock } = checked(t)
    health.setMaxLagMs(maxLagMs)
    runtime.start()
    health.record(target, passed(clock.now(), lagMs))
    t.equal(pool.status(target).lagging, lagging, `maxLagMs ${maxLagMs}, lag ${lagMs}`)
  }
})

t.test('a new maxLagMs judges the lag already reported the same way', async (t) => {
  for (const [maxLagMs, lagMs, lagging] of CASES) {
    const { runtime, health, pool, target, clock } = checked(t)
    // first judged against a limit that puts it on the other side, so the new limit must change it back
    health.setMaxLagMs(lagging ? lagMs + 1 : Math.max(0, lagMs - 1))
    runtime.start()
    health.record(target, passed(clock.now(), lagMs))
    if (lagMs > 0) t.equal(pool.status(target).lagging, !lagging, `first limit, lag ${lagMs}`)
    health.setMaxLagMs(maxLagMs)
    t.equal(pool.status(target).lagging, lagging, `maxLagMs now ${maxLagMs}, lag ${lagMs}`)
  }
})

t.test('end to end: the replica reporting exactly maxLagMs takes the reads, the one a millisecond over does not', async (t) => {
  const [primary, atLimit, over] = await Promise.all(['primary', 'at-limit', 'over'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all([primary, atLimit, over].map((u) => u!.close())))
  atLimit!.healthHeaders = { 'x-replication-lag-ms': '1000' }
  over!.healthHeaders = { 'x-replication-lag-ms': '1001' }
  const gw = await startGateway({
    pools: {
      primary: { targets: [primary!.url] },
      replicas: { targets: [atLimit!.url, over!.url], healthCheck: { path: '/health', intervalMs: 200, timeoutMs: 200, healthyThreshold: 1, unhealthyThreshold: 2 } },
    },
    routes: [{ path: '/', pool: 'primary', reads: { pool: 'replicas', maxLagMs: 1000 } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const replicas = gw.gateway.pools().get('replicas')!
  const [a, b] = [atLimit!, over!].map((u) => replicas.pool.targets.find((x) => x.url === u.url)!)
  await waitFor(() => replicas.health?.lastResult(a!)?.lagMs === 1000 && replicas.health?.lastResult(b!)?.lagMs === 1001)
  t.equal(replicas.pool.status(a!).lagging, false, 'lag 1000: in')
  t.equal(replicas.pool.status(b!).lagging, true, 'lag 1001: out')
  const servedBy = new Set<string | null>()
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${gw.url}/item`)
    await res.arrayBuffer()
    t.equal(res.status, 200)
    servedBy.add(res.headers.get('x-upstream'))
  }
  t.strictSame([...servedBy], ['at-limit'], 'every read on the replica at the limit')
})
