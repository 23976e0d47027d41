// A failed probe says nothing of lag (health/active.ts), even when its answer carries a lag header (a replica
// answering 503 while it reports 10 ms): a replica known to be far behind stays out of reads until a passing probe
// reports it caught up. Taking the failing answer's lag would put a lagging replica back into reads on a probe
// that failed, while it is still healthy by unhealthyThreshold.
import t from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('the lag on a failed probe does not change whether a replica is lagging', async (t) => {
  const clock = new ManualClock()
  // the clock never moves: no probe is sent, results are recorded by the test
  const runtime = new PoolRuntime('p', poolConfig({ targets: ['http://127.0.0.1:1'], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, unhealthyThreshold: 3 } }), { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  void runtime.start()
  const health = runtime.health!
  const target = runtime.pool.targets[0]!
  const reports: boolean[] = []
  health.on('lagReport', (_target, reported) => reports.push(reported))
  health.setMaxLagMs(1000)
  const behind: ProbeResult = { ok: true, status: 200, lagMs: 5000, at: clock.now() }
  health.record(target, behind)
  t.equal(runtime.pool.state(target), 'lagging', '5000 ms behind')
  const failedInSync: ProbeResult = { ok: false, status: 503, lagMs: 10, at: clock.now() }
  health.record(target, failedInSync)
  t.equal(runtime.pool.status(target).healthy, true, 'still healthy: one failure of three')
  t.equal(runtime.pool.state(target), 'lagging', 'still lagging: the failed probe reported nothing')
  health.record(target, { ok: false, status: 503, at: clock.now() })
  t.same(reports, [], 'no lag-report change from failed probes')
})
