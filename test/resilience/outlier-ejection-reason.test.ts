// An outlier ejection is logged and fed with why and for how long: the failures that tripped it, the last one's kind,
// its length and how many times the target was ejected (the multiplier), as Envoy's outlier event log carries the
// ejection's type and count. An ejection maxEjectionPercent refuses leaves a trace: one warning per run of refusals
// (not one per streak of failures), fed to /events, and every refusal counted in
// switchyard_outlier_ejections_skipped_total{pool} (Envoy's ejections_overflow). A target whose ejection ends while the
// health checks hold it out is said to be still out, at warn, not as a bare recovery at info (review r37b).
// Before, the line was a bare "target ejected", and a refused ejection left no log line, event or metric.
import t from 'tap'
import type { Test } from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { EventFeed } from '../../src/admin/event-feed.ts'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import type { Target } from '../../src/upstream/target.ts'
import type { LogRecord } from '../helpers/gateway.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from '../unit/config-fixtures.ts'
import { call, gateway, runtime as runtimeOf, upstreams } from './_util.ts'

const BASE = 1000

interface Fixture {
  runtime: PoolRuntime
  feed: EventFeed
  clock: ManualClock
  logs: LogRecord[]
  metrics: GatewayMetrics
  targets: Target[]
  /** `times` failures of one kind in a row. */
  fail: (target: Target, times: number, kind: 'status' | 'reset' | 'timeout' | 'connect-failure', status?: number) => void
}

/** A pool of never-contacted targets, its outlier detector fed by hand, watched by an event feed that logs to `logs`. */
function setup (t: Test, count: number, maxEjectionPercent = 50): Fixture {
  const clock = new ManualClock()
  const logs: LogRecord[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, cb) { logs.push(JSON.parse(chunk.toString()) as LogRecord); cb() } })
  const feed = new EventFeed(pino({ level: 'info' }, stream), clock)
  const metrics = new GatewayMetrics({ defaultMetrics: false })
  const targets = Array.from({ length: count }, (_, i) => `http://127.0.0.1:${i + 1}`)
  const config = poolConfig({ targets, outlier: { consecutiveFailures: 3, baseEjectionMs: BASE, maxEjectionMs: 10 * BASE, maxEjectionPercent } })
  // the pool's counters as the gateway binds them (src/app.ts poolObserver)
  const runtime = new PoolRuntime('p', config, {
    clock,
    observe: (pool) => {
      const bound = metrics.pool(pool)
      return { attempt () {}, retry: (reason) => bound.retry(reason), budgetExhausted: () => bound.budgetExhausted(), ejectionSkipped: () => bound.ejectionSkipped() }
    },
  })
  const stop = feed.watchPool(runtime)
  t.teardown(async () => { stop(); await runtime.close() })
  const fail: Fixture['fail'] = (target, times, kind, status) => {
    for (let i = 0; i < times; i++) runtime.outlier.failure(target, kind, status)
  }
  return { runtime, feed, clock, logs, metrics, targets: [...runtime.pool.targets], fail }
}

const targetLines = (f: Fixture, target: Target): LogRecord[] => f.logs.filter((l) => l.event === 'target' && l.target === target.id)
const messages = (f: Fixture, target: Target): string[] => f.feed.list().filter((e) => e.target === target.id).map((e) => e.message)
async function skipped (f: Fixture): Promise<number | undefined> {
  const line = (await f.metrics.render()).split('\n').find((l) => l.startsWith('switchyard_outlier_ejections_skipped_total{pool="p"} '))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

t.test('an ejection says why and for how long; a repeated one, how many times (the multiplier)', async (t) => {
  const f = setup(t, 2)
  const [a] = f.targets as [Target]
  f.fail(a, 3, 'status', 503)
  t.same(messages(f, a), ['target ejected for 1 s (3 consecutive failures, last status 503)'], 'the event says why and for how long')
  t.match(targetLines(f, a), [{ level: 40, msg: 'target ejected for 1 s (3 consecutive failures, last status 503)', url: a.url, failures: 3, outcome: 'status 503', ejectedForMs: BASE, timesEjected: 1 }], 'the warning carries the facts as fields')

  f.clock.advance(BASE)
  t.match(targetLines(f, a).at(-1), { level: 30, msg: 'target returned from ejection' }, 'back in, serving: info')
  t.notOk('state' in targetLines(f, a).at(-1)!, 'no state: nothing else keeps it out')

  f.fail(a, 3, 'reset')
  t.equal(messages(f, a).at(-1), 'target ejected for 2 s (3 consecutive failures, last reset; ejected 2 times)', 'base × 2')
  t.match(targetLines(f, a).at(-1), { level: 40, failures: 3, outcome: 'reset', ejectedForMs: 2 * BASE, timesEjected: 2 })

  // a failure its caller did not name still counts, and the ejection says what it knows
  f.clock.advance(2 * BASE)
  f.runtime.outlier.failure(a)
  f.runtime.outlier.failure(a)
  f.runtime.outlier.failure(a)
  t.equal(messages(f, a).at(-1), 'target ejected for 3 s (3 consecutive failures; ejected 3 times)')
  t.notOk('outcome' in targetLines(f, a).at(-1)!, 'no outcome field when none was named')
})

t.test('an ejection not made by the outlier detector is said bare, as before', async (t) => {
  const f = setup(t, 2)
  const [a] = f.targets as [Target]
  f.runtime.pool.setStatus(a, { ejectedUntil: f.clock.now() + 5000 })
  t.same(messages(f, a), ['target ejected'])
})

t.test('a refused ejection: one warning per run of refusals, each refusal counted', async (t) => {
  const f = setup(t, 2)
  const [a, b] = f.targets as [Target, Target]
  t.equal(await skipped(f), 0, 'the counter is exported at 0 from the start')
  f.fail(a, 3, 'status', 503)
  t.ok(f.runtime.pool.status(a).ejectedUntil > 0, 'a is ejected: the tier is at 50%')
  f.fail(b, 3, 'timeout')
  t.equal(f.runtime.pool.status(b).ejectedUntil, 0, 'b stays in')
  t.same(messages(f, b), ['target not ejected, maxEjectionPercent 50% reached (3 consecutive failures, last timeout)'], 'the refusal is fed')
  t.match(targetLines(f, b), [{ level: 40, url: b.url, failures: 3, outcome: 'timeout', maxEjectionPercent: 50 }], 'and logged at warn, with its facts')
  t.equal(await skipped(f), 1)

  // b keeps failing: every refusal is counted, none said again; one lucky success does not end the run
  f.fail(b, 9, 'timeout')
  f.runtime.outlier.success(b)
  f.fail(b, 3, 'timeout')
  t.equal(messages(f, b).length, 1, 'one line for the run')
  t.equal(await skipped(f), 5, 'five refusals counted')
  t.equal(f.runtime.outlier.skipped, 5)

  // as many successes in a row as it takes failures to eject end the run: the next refusal is news
  for (let i = 0; i < 3; i++) f.runtime.outlier.success(b)
  f.fail(b, 3, 'connect-failure')
  t.same(messages(f, b).slice(1), ['target not ejected, maxEjectionPercent 50% reached (3 consecutive failures, last connect-failure)'], 'a new run is said')
  t.equal(await skipped(f), 6)

  // once the cap allows it, b is ejected after all: its ejection ends the run
  f.clock.advance(BASE)
  f.fail(b, 3, 'status', 502)
  t.equal(messages(f, b).at(-1), 'target ejected for 1 s (3 consecutive failures, last status 502)')
  f.fail(a, 3, 'status', 503)
  t.equal(messages(f, a).at(-1), 'target not ejected, maxEjectionPercent 50% reached (3 consecutive failures, last status 503)', 'now a is the one refused')
  t.equal(await skipped(f), 7)
})

t.test('an ejection that ends while the health checks hold the target out says so, at warn', async (t) => {
  const f = setup(t, 2)
  const [a, b] = f.targets as [Target, Target]
  f.fail(a, 3, 'timeout')
  f.runtime.pool.setStatus(a, { healthy: false })
  f.clock.advance(BASE)
  t.equal(messages(f, a).at(-1), 'target returned from ejection; still marked down by its health checks')
  t.match(targetLines(f, a).at(-1), { level: 40, msg: 'target returned from ejection; still marked down by its health checks', state: 'unhealthy' }, 'at warn: it is still out of rotation')

  // still out for an operator's disable: said too
  f.fail(b, 3, 'timeout')
  t.equal(f.runtime.pool.status(b).ejectedUntil, 0, 'the tier is at its cap (a is unhealthy)')
  f.runtime.pool.setStatus(a, { healthy: true })
  f.fail(b, 3, 'timeout')
  f.runtime.pool.setStatus(b, { disabled: true })
  f.clock.advance(BASE)
  t.match(targetLines(f, b).at(-1), { level: 40, msg: 'target returned from ejection; still disabled', state: 'disabled' })
})

// Through a running gateway: two targets answering 503 to every request, the breaker off. One is ejected with its
// reason; the other's ejection is refused, said once although every third request to it is refused again.
t.test('a gateway whose two targets fail: one ejection with its reason, one refusal said once', async (t) => {
  const ups = await upstreams(t, 2)
  for (const u of ups) u.failCount = 1_000_000
  const gw = await gateway(t, {
    pools: { p: { targets: ups.map((u) => u.url), outlier: { consecutiveFailures: 3, baseEjectionMs: 60_000 }, circuitBreaker: { enabled: false }, retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, ups)
  const statuses = new Set<number>()
  for (let i = 0; i < 20; i++) statuses.add((await call(gw.url, `/x${i}`)).status)
  t.same([...statuses], [503], 'every request failed')
  const rt = runtimeOf(gw, 'p')
  const lines = gw.logs.filter((l) => l.event === 'target')
  t.equal(lines.length, 2, 'two lines: the ejection, the refusal')
  const ejected = lines.find((l) => l.msg.startsWith('target ejected'))
  t.match(ejected, { level: 40, msg: /^target ejected for 60 s \(3 consecutive failures, last status 503\)/, failures: 3, outcome: 'status 503', ejectedForMs: 60_000, timesEjected: 1 }, 'the ejection says why and for how long')
  const refused = lines.find((l) => l.msg.startsWith('target not ejected'))
  t.match(refused, { level: 40, msg: /^target not ejected, maxEjectionPercent 50% reached \(3 consecutive failures, last status 503\)/, failures: 3, outcome: 'status 503', maxEjectionPercent: 50 }, 'the refusal is a warning')
  t.not(refused?.target, ejected?.target)
  t.ok(rt.outlier.skipped > 1, `refused ${rt.outlier.skipped} times, said once`)
  t.same(gw.gateway.events.list().filter((e) => e.kind === 'target').map((e) => e.message), lines.map((l) => l.msg), 'both fed to /events')
  const counted = (await gw.gateway.metrics!.render()).split('\n').find((l) => l.startsWith('switchyard_outlier_ejections_skipped_total{pool="p"} '))
  t.equal(Number(counted?.split(' ')[1]), rt.outlier.skipped, 'every refusal counted')
})
