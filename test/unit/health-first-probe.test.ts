// When the first health probes are due (health/active.ts): within 0.1 ms per target of the pool, at most 20 ms and
// never past intervalMs, so a pool is ready soon and a big one is still not probed in a single tick.
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('the first probes are spread over 0.1 ms per target, up to 20 ms and intervalMs', async (t) => {
  const cases: [targets: number, intervalMs: number, latestMs: number][] = [
    [1, 10_000, 0.1],
    [2, 10_000, 0.2],
    [50, 10_000, 5],
    [200, 10_000, 20],
    [500, 10_000, 20],
    [100, 5, 5],
  ]
  for (const [count, intervalMs, latestMs] of cases) {
    const clock = new ManualClock()
    const targets = Array.from({ length: count }, (_, i) => `http://127.0.0.1:${i + 1}`)
    // the random source at its top: every first probe as late as the spread allows; the clock never moves, so none is sent
    const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs, timeoutMs: intervalMs, jitter: 0 } }), { clock, random: () => 0.999 })
    void runtime.start()
    const due = clock.dueIn()
    t.equal(due.length, count, `${count} targets: one first probe each`)
    // (the manual clock's epoch-sized start leaves float noise in dueIn)
    t.ok(Math.abs(Math.max(...due) - latestMs * 0.999) < 1e-6, `${count} targets, intervalMs ${intervalMs}: the last one due at ${latestMs * 0.999} ms (${Math.max(...due)})`)
    await runtime.close()
  }
})
