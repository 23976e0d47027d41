// Probes after the first are jittered around intervalMs (health/active.ts): due between intervalMs * (1 - jitter/2)
// and intervalMs * (1 + jitter/2), so the configured interval stays the mean probe period. A window shifted down to
// intervalMs * (1 - jitter) would probe every target more often than configured, on average, for every pool.
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { PROBE_SLOT_MS } from '../../src/health/slot-timers.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { poolConfig } from './config-fixtures.ts'

const INTERVAL = 10_000
const JITTER = 0.5

t.test('the next probe is due within intervalMs * (1 ± jitter/2), on the slot grid', async (t) => {
  const { url } = await serveOnLoopback(t, (_req, res) => res.end('ok'))
  // the random source at its bottom and at its top: the two ends of the window
  const cases: [random: number, earliest: number][] = [
    [0, INTERVAL * (1 - JITTER / 2)],
    [0.999, INTERVAL * (1 - JITTER / 2 + 0.999 * JITTER)],
  ]
  for (const [random, earliest] of cases) {
    const clock = new ManualClock()
    const runtime = new PoolRuntime('p', poolConfig({ targets: [url], healthCheck: { intervalMs: INTERVAL, timeoutMs: 5_000, jitter: JITTER } }), { clock, random: () => random })
    t.teardown(() => runtime.close())
    void runtime.start()
    const target = runtime.pool.targets[0]!
    clock.advance(1) // the first probe (due within 0.1 ms)
    await waitFor(() => runtime.health!.lastResult(target) !== undefined)
    const due = clock.dueIn()
    t.equal(due.length, 1, 'one probe armed')
    // a probe runs at the first slot boundary at or after its due time
    t.ok(due[0]! >= earliest - 1e-6 && due[0]! < earliest + PROBE_SLOT_MS, `random ${random}: due in ${due[0]} ms, expected ${earliest} ms up to one slot later`)
  }
})
