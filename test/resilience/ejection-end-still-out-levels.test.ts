// An outlier ejection that ends while something else still keeps the target out says what, at the level that reason's
// own event has (src/admin/event-feed.ts describeReturn, STILL_OUT): an operator's drain is no warning ('drain
// started' is info), so "still draining" / "still drained" are info; a replica behind on its lag is a warning
// ("replica lagging" is warn), so "still lagging" is warn; a replica whose lag was never reported yet is no news
// ("replica lag not reported yet" is info), so "its lag not reported yet" is info, not "still lagging". Otherwise an
// alert on warn-or-worse fires at the end of an ejection for a target an operator is draining, or a replica that has
// merely not reported yet. (test/resilience/outlier-ejection-reason.test.ts checks the unhealthy and disabled cases.)
// The pool's outlier detector is fed by hand on a manual clock, watched by an event feed as the gateway's is.
import pino from 'pino'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { EventFeed } from '../../src/admin/event-feed.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import type { TargetStatus } from '../../src/upstream/status.ts'
import type { Target } from '../../src/upstream/target.ts'
import type { LogRecord } from '../helpers/gateway.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from '../unit/config-fixtures.ts'

const BASE = 1000
const INFO = 30
const WARN = 40

/** Ejects target a, puts `meanwhile` on it (and `inFlight` requests), lets the ejection end; the last line about a. */
function endOfEjection (t: Test, meanwhile: Partial<TargetStatus>, inFlight = 0): LogRecord | undefined {
  const clock = new ManualClock()
  const logs: LogRecord[] = []
  const feed = new EventFeed(pino({ level: 'info' }, new Writable({ write (chunk: Buffer, _e, cb) { logs.push(JSON.parse(chunk.toString()) as LogRecord); cb() } })), clock)
  const config = poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], outlier: { consecutiveFailures: 3, baseEjectionMs: BASE, maxEjectionMs: 10 * BASE, maxEjectionPercent: 50 } })
  const runtime = new PoolRuntime('p', config, { clock })
  const stop = feed.watchPool(runtime)
  t.teardown(async () => { stop(); await runtime.close() })
  const a = runtime.pool.targets[0] as Target
  for (let i = 0; i < 3; i++) runtime.outlier.failure(a, 'timeout')
  t.ok(runtime.pool.status(a).ejectedUntil > 0, 'ejected')
  runtime.pool.setStatus(a, meanwhile)
  for (let i = 0; i < inFlight; i++) runtime.pool.acquire(a)
  clock.advance(BASE)
  const line = logs.filter((l) => l.event === 'target' && l.target === a.id).at(-1)
  for (let i = 0; i < inFlight; i++) runtime.pool.release(a)
  return line
}

t.test('still draining (requests in flight): info', async (t) => {
  t.match(endOfEjection(t, { draining: true }, 1), { level: INFO, msg: 'target returned from ejection; still draining', state: 'draining' })
})

t.test('still drained: info', async (t) => {
  t.match(endOfEjection(t, { draining: true }), { level: INFO, msg: 'target returned from ejection; still drained', state: 'drained' })
})

t.test('a replica still behind: still lagging, warn', async (t) => {
  t.match(endOfEjection(t, { lagging: true }), { level: WARN, msg: 'target returned from ejection; still lagging', state: 'lagging' })
})

t.test('a replica whose lag is not reported yet: said so, info', async (t) => {
  t.match(endOfEjection(t, { lagging: true, lagUnknown: true }), { level: INFO, msg: 'target returned from ejection; its lag not reported yet', state: 'lagging' })
})
