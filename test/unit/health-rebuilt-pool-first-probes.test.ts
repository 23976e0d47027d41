// A reload that rebuilds a pool (any of its settings changed: a health-check interval changed for every pool, say)
// gives it a new health checker. Its targets' health is carried over, and the replaced checker had probed them: the
// new checker's first probe of such a target comes at a jittered time in its interval, as any later probe does, and
// its first round does not wait for it. Before, every target of every rebuilt pool was probed at once (within 0.1 ms
// per target of its pool): a rebuild of 200 pools of 5 sent 1,000 probes, on 1,000 new connections, in one turn of
// the event loop, blocking it 170-530 ms. A target the replaced checks had not probed yet (new, or not reached)
// is still probed at once and waited for.
import t from 'tap'
import { buildPools, PoolRuntime } from '../../src/upstream/registry.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { PROBE_SLOT_MS } from '../../src/health/slot-timers.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Due at the random source's top of the interval, rounded up to the probes' grid of slots. */
const onGrid = (dueMs: number, intervalMs: number): boolean => dueMs >= intervalMs * 0.999 - 1e-6 && dueMs < intervalMs * 0.999 + PROBE_SLOT_MS

t.test('the first probes of targets the replaced checks had probed are jittered over the interval', async (t) => {
  const clock = new ManualClock()
  const targets = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']
  // the random source at its top: every first probe as late as its spread allows; the clock never moves
  const runtime = new PoolRuntime('p', poolConfig({ targets, healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 } }), {
    clock, random: () => 0.999, carriedProbed: new Set([targets[0]!, targets[2]!]),
  })
  t.teardown(() => runtime.close())
  let ready = false
  void runtime.start().then(() => { ready = true })
  const due = clock.dueIn().sort((a, b) => a - b)
  // (the manual clock's epoch-sized start leaves float noise in dueIn)
  t.ok(Math.abs(due[0]! - 0.3 * 0.999) < 1e-6, `the target not probed before: within 0.1 ms per target (${due[0]})`)
  // the two probed before: on the grid of slots later probes share (one timer for both, due together)
  t.equal(due.length, 2, 'a timer for the first, one slot for the two others')
  t.ok(onGrid(due[1]!, 10_000), `the two probed before: within intervalMs, on the grid (${due[1]})`)
  // the first round waits for the one target whose health is not known
  const fresh = runtime.pool.targets.find((x) => x.url === targets[1])!
  runtime.health!.record(fresh, { ok: true, status: 200, at: clock.now() })
  await settle()
  t.equal(ready, true, 'ready once the target not probed before has been')
})

t.test('a reload that rebuilds a pool carries which targets its checks had probed', async (t) => {
  const clock = new ManualClock()
  const config = (intervalMs: number) => validateConfig({
    pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], healthCheck: { path: '/health', intervalMs, timeoutMs: 1000 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const before = buildPools(config(5000), { clock, random: () => 0.999 }).pools.get('p')!
  t.teardown(() => before.close())
  void before.start()
  // the first target has been probed, the second not yet
  before.health!.record(before.pool.targets[0]!, { ok: true, status: 200, at: clock.now() })
  const after = buildPools(config(8000), { clock, random: () => 0.999 }, new Map([['p', before]])).pools.get('p')!
  t.not(after, before, 'rebuilt: its health-check settings changed')
  t.teardown(() => after.close())
  before.health!.stop()
  const pendingBefore = clock.dueIn().length
  void after.start()
  const due = clock.dueIn().slice(pendingBefore).sort((a, b) => a - b)
  t.equal(due.length, 2)
  t.ok(due[0]! < 1, `the target not probed before: at once (${due[0]})`)
  t.ok(onGrid(due[1]!, 8000), `the one probed before: within the new intervalMs (${due[1]})`)
})

t.test('a pool rebuilt again before its carried targets were probed carries them on', async (t) => {
  const clock = new ManualClock()
  const config = (intervalMs: number) => validateConfig({
    pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], healthCheck: { path: '/health', intervalMs, timeoutMs: 1000 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const first = buildPools(config(5000), { clock, random: () => 0.999 }).pools.get('p')!
  t.teardown(() => first.close())
  void first.start()
  for (const target of first.pool.targets) first.health!.record(target, { ok: true, status: 200, at: clock.now() })
  const second = buildPools(config(6000), { clock, random: () => 0.999 }, new Map([['p', first]])).pools.get('p')!
  t.teardown(() => second.close())
  first.health!.stop()
  t.same([...second.health!.probedUrls()].sort(), ['http://127.0.0.1:1', 'http://127.0.0.1:2'], 'before its start: what it was given')
  void second.start()
  // rebuilt again before its jittered first probes came
  const third = buildPools(config(7000), { clock, random: () => 0.999 }, new Map([['p', second]])).pools.get('p')!
  t.teardown(() => third.close())
  second.health!.stop()
  const pendingBefore = clock.dueIn().length
  let ready = false
  void third.start().then(() => { ready = true })
  const due = clock.dueIn().slice(pendingBefore)
  t.equal(due.length, 1, 'one slot for both')
  t.ok(onGrid(due[0]!, 7000), `still jittered over the interval (${due[0]})`)
  await settle()
  t.equal(ready, true, 'and no first round to wait for')
})

t.test('a rebuilt pool whose checks ask another path probes every target at once', async (t) => {
  const clock = new ManualClock()
  const config = (path: string) => validateConfig({
    pools: { p: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], healthCheck: { path, intervalMs: 5000, timeoutMs: 1000 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const before = buildPools(config('/health'), { clock, random: () => 0.999 }).pools.get('p')!
  t.teardown(() => before.close())
  void before.start()
  for (const target of before.pool.targets) before.health!.record(target, { ok: false, status: 404, at: clock.now() })
  // the operator fixes a wrong path: the verdicts of the old one say nothing of the new
  const after = buildPools(config('/ready'), { clock, random: () => 0.999 }, new Map([['p', before]])).pools.get('p')!
  t.teardown(() => after.close())
  before.health!.stop()
  const pendingBefore = clock.dueIn().length
  void after.start()
  const due = clock.dueIn().slice(pendingBefore)
  t.equal(due.length, 2)
  t.ok(due.every((ms) => ms < 1), `both at once (${due})`)
})
