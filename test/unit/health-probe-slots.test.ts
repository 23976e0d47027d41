// Probes after the first fall due on a shared grid of slots (src/health/slot-timers.ts): everything due in one slot
// runs from one timer, never before its delay and less than one slot after it; cancelling the last callback of a
// slot clears its timer. And two pools' checkers on one clock share the grid.
import t from 'tap'
import { SlotTimers, slotTimersFor } from '../../src/health/slot-timers.ts'
import type { Clock } from '../../src/runtime.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('a callback runs at the first slot boundary at least its delay away', async (t) => {
  // [clock start, delay, slot ms, expected ms until it runs]
  const cases: [number, number, number, number][] = [
    [1000, 0, 20, 0],
    [1000, 1, 20, 20],
    [1000, 20, 20, 20],
    [1000, 20.5, 20, 40],
    [1005, 0, 20, 15],
    [1005, 15, 20, 15],
    [1005, 16, 20, 35],
    [1000.25, 1999.75, 20, 1999.75],
    [7, 1993, 10, 1993],
  ]
  for (const [start, delay, slotMs, expected] of cases) {
    const clock = new ManualClock(start)
    const slots = new SlotTimers(clock, slotMs)
    let ranAt: number | undefined
    slots.after(delay, () => { ranAt = clock.now() })
    t.same(clock.dueIn(), [expected], `from ${start}, ${delay} ms on a ${slotMs} ms grid: due in ${expected} ms`)
    clock.advance(expected)
    t.equal(ranAt, start + expected, 'and runs then')
    t.ok(ranAt! - start >= delay && ranAt! - start < delay + slotMs, 'never early, less than a slot late')
  }
})

t.test('callbacks due in one slot share one timer and run in the order they were set', async (t) => {
  const clock = new ManualClock(1000)
  const slots = new SlotTimers(clock, 20)
  const ran: string[] = []
  slots.after(3, () => ran.push('a'))
  slots.after(17, () => ran.push('b'))
  slots.after(20, () => ran.push('c'))
  slots.after(21, () => ran.push('d'))
  t.equal(clock.pendingTimers, 2, 'two slots, two timers')
  t.equal(slots.pending, 2)
  clock.advance(20)
  t.same(ran, ['a', 'b', 'c'])
  clock.advance(20)
  t.same(ran, ['a', 'b', 'c', 'd'])
  t.equal(clock.pendingTimers, 0)
  t.equal(slots.pending, 0)
})

t.test('cancelling: the slot keeps its timer while a callback is left, and clears it with the last', async (t) => {
  const clock = new ManualClock(1000)
  const slots = new SlotTimers(clock, 20)
  const ran: string[] = []
  const cancelA = slots.after(5, () => ran.push('a'))
  const cancelB = slots.after(6, () => ran.push('b'))
  cancelA()
  t.equal(clock.pendingTimers, 1, 'b keeps the slot armed')
  cancelA()
  t.equal(clock.pendingTimers, 1, 'a second cancel changes nothing')
  cancelB()
  t.equal(clock.pendingTimers, 0, 'the last one cancelled clears the timer')
  t.equal(slots.pending, 0)
  clock.advance(100)
  t.same(ran, [], 'nothing ran')
  // a slot fired: cancelling one of its callbacks afterwards is harmless
  const cancelC = slots.after(5, () => ran.push('c'))
  clock.advance(20)
  cancelC()
  t.same(ran, ['c'])
  slots.after(5, () => ran.push('d'))
  t.equal(clock.pendingTimers, 1)
  clock.advance(20)

  // a callback of a firing slot that sets a callback due at once gets a new slot with the same index: a late
  // cancel of the fired one (here from inside it) must leave that one armed
  const cancelE = slots.after(20, () => {
    ran.push('e')
    slots.after(0, () => ran.push('f'))
    cancelE()
  })
  clock.advance(20)
  t.same(ran, ['c', 'd', 'e', 'f'])
})

t.test('a step of the wall clock moves no due time: slots are keyed on the monotonic clock', async (t) => {
  const timers = new ManualClock(1_000_000)
  let step = 0
  // the wall clock (now) can be stepped; timers and monotonicNow run on the manual clock, as Node's timers do
  const clock: Clock = {
    now: () => timers.now() + step,
    monotonicNow: () => timers.now(),
    setTimeout: (callback, ms) => timers.setTimeout(callback, ms),
    clearTimeout: (timer) => timers.clearTimeout(timer),
  }
  const slots = new SlotTimers(clock, 20)
  const ran: [string, number][] = []
  slots.after(1000, () => ran.push(['a', timers.now()]))
  step = -4000 // the wall clock steps back 4 s
  slots.after(5000, () => ran.push(['b', timers.now()]))
  step = 2000 // and forward
  slots.after(3000, () => ran.push(['c', timers.now()]))
  t.same(timers.dueIn(), [1000, 3000, 5000], 'each due when asked, not in the slot the stepped wall clock names')
  timers.advance(5000)
  t.same(ran, [['a', 1_001_000], ['c', 1_003_000], ['b', 1_005_000]])
})

t.test('one grid per clock', async (t) => {
  const clock = new ManualClock()
  t.equal(slotTimersFor(clock), slotTimersFor(clock))
  t.not(slotTimersFor(clock), slotTimersFor(new ManualClock()))
})

t.test('two pools\' checkers share the grid: their later probes due in one slot set one timer', async (t) => {
  const upstream = await TestUpstream.start({ name: 'u' })
  t.teardown(() => upstream.close())
  const clock = new ManualClock()
  // jitter 0 and the random source at 0: every first probe at once, every later one exactly intervalMs after
  const config = poolConfig({ targets: [upstream.url, upstream.url.replace('127.0.0.1', 'localhost')], healthCheck: { intervalMs: 1000, timeoutMs: 500, jitter: 0 } })
  const runtimes = ['a', 'b'].map((name) => new PoolRuntime(name, config, { clock, random: () => 0 }))
  t.teardown(() => Promise.all(runtimes.map((r) => r.close())))
  for (const r of runtimes) void r.start()
  t.equal(clock.pendingTimers, 4, 'first probes: one exact timer per target')
  clock.advance(0)
  await waitFor(() => runtimes.every((r) => r.pool.targets.every((x) => r.health!.lastResult(x) !== undefined)))
  t.equal(upstream.healthChecks, 4, 'each target probed once')
  t.same(clock.dueIn(), [1000], 'four later probes, one timer')
  const before = upstream.healthChecks
  clock.advance(1000)
  await waitFor(() => upstream.healthChecks === before + 4)
  t.pass('all four probed from it')
})
