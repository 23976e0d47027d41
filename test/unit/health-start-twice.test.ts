// A second start() of a running health checker changes nothing (health/active.ts): each target keeps one probe
// timer. Watching the targets again would arm a second first probe per target (twice the probes on the upstream)
// and register the pool's 'targets' listener twice, so stop() would leave one behind and keep watching new targets.
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('start() on a running checker arms no second probe per target', async (t) => {
  const clock = new ManualClock()
  const targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']
  // the clock never moves: no probe is sent, only their timers are armed
  const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0 } }), { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  void runtime.start()
  const health = runtime.health!
  t.equal(clock.pendingTimers, 3, 'one first probe per target')
  health.start()
  t.equal(clock.pendingTimers, 3, 'still one per target after a second start()')
  health.stop()
  t.equal(clock.pendingTimers, 0, 'stop() clears them all')
})
