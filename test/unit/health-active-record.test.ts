// The health-check result path (health/active.ts): record() applies thresholds both ways, firstRound() resolves
// once every target has a result, lastResult() keeps the last one; and what a probe reports, on a manual clock:
// a probe that outlasts timeoutMs is error 'timeout', a status outside expectStatus is ok: false with its status.
import t, { type Test } from 'tap'
import type { ProbeResult } from '../../src/health/active.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { poolConfig } from './config-fixtures.ts'
import { refusingUrls } from './proxy-fakes.ts'

const INTERVAL = 10_000
// long enough that undici's own probe timeouts (real time, from timeoutMs) never fire: the manual clock decides
const TIMEOUT = 5_000

/** A started health checker on a manual clock; every first probe is due at once (random 0), none fires unless the clock moves. */
function checked (t: Test, healthCheck: Record<string, unknown> = {}, targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']) {
  const clock = new ManualClock()
  const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT, jitter: 0, ...healthCheck } }), { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  runtime.start()
  return { clock, runtime, pool: runtime.pool, health: runtime.health!, targets: runtime.pool.targets }
}

const ok = (at: number, status = 200): ProbeResult => ({ ok: true, status, at })
const failed = (at: number, status = 503): ProbeResult => ({ ok: false, status, at })

t.test('record(): consecutive results against the thresholds decide each status change, both ways', async (t) => {
  // sequences of probe results (T ok, F failed) for one target → the status changes, at the result that caused them
  const cases: [thresholds: { healthyThreshold: number; unhealthyThreshold: number }, results: string, changes: string[]][] = [
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'TTTT', []],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FF', []],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFF', ['2 down']],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFFF', ['2 down']],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFTFF', []],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFTFFF', ['5 down']],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFT', ['2 down']],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFTT', ['2 down', '4 up']],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFTFTT', ['2 down', '6 up']],
    [{ healthyThreshold: 2, unhealthyThreshold: 3 }, 'FFFTTTFFF', ['2 down', '4 up', '8 down']],
    [{ healthyThreshold: 1, unhealthyThreshold: 1 }, 'FTF', ['0 down', '1 up', '2 down']],
    [{ healthyThreshold: 3, unhealthyThreshold: 1 }, 'FTTFTTT', ['0 down', '6 up']],
  ]
  for (const [thresholds, results, changes] of cases) {
    const { pool, health, targets, clock } = checked(t, thresholds)
    const target = targets[0]!
    const seen: string[] = []
    let index = 0
    pool.on('status', (changed, status, previous) => {
      if (changed === target && status.healthy !== previous.healthy) seen.push(`${index} ${status.healthy ? 'up' : 'down'}`)
    })
    for (; index < results.length; index++) health.record(target, results[index] === 'T' ? ok(clock.now()) : failed(clock.now()))
    t.same(seen, changes, `${thresholds.healthyThreshold}/${thresholds.unhealthyThreshold} ${results}`)
    t.equal(pool.status(target).healthy, changes.length === 0 || changes.at(-1)!.endsWith('up'), `${results}: ends ${pool.status(target).healthy ? 'healthy' : 'unhealthy'}`)
    t.same(targets.slice(1).map((x) => pool.status(x).healthy), [true, true], 'the other targets are untouched')
  }
})

t.test('record() only changes health: a disabled target stays disabled either way', async (t) => {
  const { pool, health, targets, clock } = checked(t, { healthyThreshold: 1, unhealthyThreshold: 1 })
  const target = targets[0]!
  pool.setStatus(target, { disabled: true })
  health.record(target, failed(clock.now()))
  t.same([pool.status(target).healthy, pool.status(target).disabled], [false, true], 'unhealthy, still disabled')
  health.record(target, ok(clock.now()))
  t.same([pool.status(target).healthy, pool.status(target).disabled], [true, true], 'healthy, still disabled')
  t.equal(pool.state(target), 'disabled')
})

t.test('firstRound() resolves once every target has a result, whatever it was', async (t) => {
  const { health, targets, clock } = checked(t)
  let resolved = false
  void health.firstRound().then(() => { resolved = true })
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  const steps: [target: number, result: ProbeResult, resolvedAfter: boolean][] = [
    [0, ok(clock.now()), false],
    [0, failed(clock.now()), false], // the same target again is not another target
    [1, failed(clock.now()), false],
    [2, { ok: false, error: 'ECONNREFUSED', at: clock.now() }, true],
  ]
  for (const [i, result, resolvedAfter] of steps) {
    health.record(targets[i]!, result)
    await settle()
    t.equal(resolved, resolvedAfter, `after a result for target ${i + 1}: ${resolvedAfter ? 'resolved' : 'pending'}`)
  }
})

t.test('firstRound() does not hang readiness: resolved before start() and by stop()', async (t) => {
  const clock = new ManualClock()
  const runtime = new PoolRuntime('p', poolConfig({ healthCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT } }), { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  const health = runtime.health!
  await health.firstRound() // before start(): nothing to wait for
  health.start()
  let resolved = false
  void health.firstRound().then(() => { resolved = true })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(resolved, false, 'pending while the target has no result')
  health.stop()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(resolved, true, 'stop() resolves it')
  t.same(clock.dueIn(), [], 'and clears every probe timer')
})

t.test('lastResult(): the last recorded result per target, nothing for a target it does not check', async (t) => {
  const { health, targets, clock } = checked(t)
  const other = checked(t).targets[0]!
  t.equal(health.lastResult(targets[0]!), undefined, 'nothing before a probe')
  const first = failed(clock.now())
  health.record(targets[0]!, first)
  t.equal(health.lastResult(targets[0]!), first)
  clock.advance(1)
  const second = ok(clock.now(), 204)
  health.record(targets[0]!, second)
  t.equal(health.lastResult(targets[0]!), second)
  t.equal(health.lastResult(targets[1]!), undefined)
  health.record(other, failed(clock.now()))
  t.equal(health.lastResult(other), undefined, "another pool's target is ignored")
  health.stop()
  t.equal(health.lastResult(targets[0]!), undefined, 'forgotten once stopped')
})

/** A real server whose /health hangs or answers the status it is told; closed in teardown. */
async function healthServer (t: Test) {
  const state = { hang: false, status: 200, probes: 0 }
  const { url } = await serveOnLoopback(t, (_req, res) => {
    state.probes++
    if (!state.hang) res.writeHead(state.status).end()
  })
  return { state, url }
}

t.test('a probe that outlasts timeoutMs on the clock reports error timeout', async (t) => {
  const server = await healthServer(t)
  server.state.hang = true
  const { health, targets, clock } = checked(t, {}, [server.url])
  const target = targets[0]!
  clock.advance(0)
  await waitFor(() => server.state.probes === 1)
  t.same(clock.dueIn(), [TIMEOUT], 'the probe runs under its timeout')
  clock.advance(TIMEOUT - 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(health.lastResult(target), undefined, 'no result 1 ms before timeoutMs')
  clock.advance(1)
  await waitFor(() => health.lastResult(target) !== undefined)
  t.same(health.lastResult(target), { ok: false, error: 'timeout', at: clock.now() })
  t.same(clock.dueIn(), [INTERVAL], 'the next probe is one interval later')
})

t.test('what a probe reports: its status against expectStatus, or the error code of no answer', async (t) => {
  const cases: [expectStatus: (number | string)[] | undefined, status: number, ok: boolean][] = [
    [undefined, 200, true],
    [undefined, 302, true], // default ['200-399']: a range
    [undefined, 399, true],
    [undefined, 404, false],
    [undefined, 503, false],
    [['200-204'], 203, true], // a range
    [[204, 200], 200, true], // numbers: a list
    [[204, 200], 204, true],
    [[204, 200], 203, false],
    [[200], 200, true],
    [[200], 201, false],
  ]
  const server = await healthServer(t)
  for (const [expectStatus, status, expectedOk] of cases) {
    server.state.status = status
    const { health, targets, clock } = checked(t, expectStatus === undefined ? {} : { expectStatus }, [server.url])
    clock.advance(0)
    await waitFor(() => health.lastResult(targets[0]!) !== undefined)
    t.same(health.lastResult(targets[0]!), { ok: expectedOk, status, at: clock.now() }, `${status} against ${JSON.stringify(expectStatus ?? ['200-399'])}`)
  }
  const [refused] = await refusingUrls(1)
  const { health, targets, clock } = checked(t, {}, [refused!])
  clock.advance(0)
  await waitFor(() => health.lastResult(targets[0]!) !== undefined)
  t.same(health.lastResult(targets[0]!), { ok: false, error: 'ECONNREFUSED', at: clock.now() }, 'a refused connection')
})

t.test('a new maxLagMs (a reload) judges the lag each target last reported at once, not from its next probe', async (t) => {
  const { pool, health, targets, clock } = checked(t, { unhealthyThreshold: 1 })
  const [behind, inSync, unprobed] = targets as [typeof targets[0], typeof targets[0], typeof targets[0]]
  health.setMaxLagMs(10_000)
  health.record(behind, { ...ok(clock.now()), lagMs: 5000 })
  health.record(inSync, { ...ok(clock.now()), lagMs: 100 })
  t.same(targets.map((x) => pool.state(x)), ['healthy', 'healthy', 'lagging'], 'within 10 s; a target with no lag reported yet is lagging')
  health.setMaxLagMs(1000)
  t.same(targets.map((x) => pool.state(x)), ['lagging', 'healthy', 'lagging'], 'over the new 1 s at once')
  health.record(behind, failed(clock.now()))
  health.setMaxLagMs(500)
  t.equal(pool.state(behind), 'unhealthy', 'a failed probe after the report leaves the reported lag standing')
  t.ok(pool.status(behind).lagging)
  health.setMaxLagMs(undefined)
  t.notOk(pool.status(behind).lagging, 'lag no longer judged: in again once healthy')
  health.setMaxLagMs(1000)
  t.ok(pool.status(behind).lagging, 'and out again under a limit')
  health.setMaxLagMs(10_000)
  t.notOk(pool.status(behind).lagging, 'a raised limit lets it back at once')
  t.equal(pool.state(unprobed), 'lagging', 'still no lag reported')
  health.setMaxLagMs(undefined)
  t.equal(pool.state(unprobed), 'healthy', 'lag no longer judged')
})
