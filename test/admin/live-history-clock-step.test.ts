// The dashboard's /live stream and /history across a wall-clock step (.review-clock/REPORT.md, findings 3 and 4).
// Pacing, the stall cut and the rates are durations: they run on monotonic time, which a step (NTP correcting a
// paused VM, an operator setting the date) does not move. The clock here moves now() and monotonicNow() apart, as
// libfaketime did to the real gateway: timers keep to monotonic time, as Node's do.
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import t from 'tap'
import { TrafficHistory } from '../../src/admin/history.ts'
import { LiveStream, type LiveStreamOptions } from '../../src/admin/live.ts'
import { SteppingClock } from '../helpers/clock.ts'
import { startGateway } from '../helpers/gateway.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const HOUR = 3_600_000

/** Just enough of a ServerResponse for LiveStream, with its backpressure under the test's control. */
class FakeResponse extends EventEmitter {
  readonly req = { method: 'GET' }
  writableNeedDrain = false
  writableLength = 0
  writableEnded = false
  destroyed = false
  readonly written: string[] = []
  writeHead (): this { return this }
  write (text: string): boolean { this.written.push(text); return true }
  end (): this { this.writableEnded = true; this.emit('close'); return this }
  destroy (): this { this.destroyed = true; this.emit('close'); return this }
  get snapshots (): number { return this.written.join('').split('event: snapshot\n').length - 1 }
}

function watched (options: Partial<LiveStreamOptions> = {}) {
  const clock = new SteppingClock(1_700_000_000_000)
  const live = new LiveStream({ clock, snapshot: () => ({}), minIntervalMs: 500, refreshMs: 5000, heartbeatMs: 15_000, ...options })
  const res = new FakeResponse()
  live.attach(res as unknown as ServerResponse)
  return { clock, live, res }
}

t.test('live: after the wall clock steps back 1 h, a dirty snapshot still goes out within minIntervalMs', async (t) => {
  const { clock, live, res } = watched()
  t.teardown(() => live.close())
  live.markDirty()
  clock.advance(0)
  t.equal(res.snapshots, 2, 'the first one on connecting, then a broadcast')
  clock.advance(100)
  clock.step(-HOUR)
  live.markDirty()
  clock.advance(399)
  t.equal(res.snapshots, 2, 'held back until 500 ms after the last one')
  clock.advance(1)
  t.equal(res.snapshots, 3, '500 ms after the last one, not an hour')
  live.markDirty()
  clock.advance(500)
  t.equal(res.snapshots, 4, 'and the next 500 ms later')
})

t.test('live: after the wall clock steps back 1 h, a snapshot still goes out every refreshMs', async (t) => {
  const { clock, live, res } = watched()
  t.teardown(() => live.close())
  clock.advance(5000)
  t.equal(res.snapshots, 2)
  clock.step(-HOUR)
  clock.advance(15_000)
  t.equal(res.snapshots, 5, 'three more refreshes in 15 s')
})

t.test('live: a forward step lets no snapshot come sooner than minIntervalMs after the last', async (t) => {
  const { clock, live, res } = watched()
  t.teardown(() => live.close())
  live.markDirty()
  clock.advance(0)
  t.equal(res.snapshots, 2, 'a broadcast')
  clock.step(HOUR)
  live.markDirty()
  clock.advance(499)
  t.equal(res.snapshots, 2, 'held back: the last one went out 499 ms ago')
  clock.advance(1)
  t.equal(res.snapshots, 3)
})

t.test('live: a watcher stalled for maxStallMs is cut though the wall clock stepped back meanwhile', async (t) => {
  const { clock, live, res } = watched({ minIntervalMs: 0, refreshMs: 600_000, heartbeatMs: 600_000, maxStallMs: 10_000 })
  t.teardown(() => live.close())
  const snapshot = (): void => { live.markDirty(); clock.advance(0) }
  res.writableNeedDrain = true
  snapshot() // skipped: the stall starts
  clock.step(-HOUR)
  clock.advance(9999)
  snapshot()
  t.equal(live.clients, 1, 'not yet')
  clock.advance(1)
  snapshot()
  t.equal(live.clients, 0, 'cut after 10 s of real time')
  t.ok(res.destroyed)
})

t.test('live: a watcher briefly behind is not cut because the wall clock stepped forward', async (t) => {
  const { clock, live, res } = watched({ minIntervalMs: 0, refreshMs: 600_000, heartbeatMs: 600_000, maxStallMs: 10_000 })
  t.teardown(() => live.close())
  const snapshot = (): void => { live.markDirty(); clock.advance(0) }
  res.writableNeedDrain = true
  snapshot()
  clock.step(HOUR)
  clock.advance(100)
  snapshot()
  t.equal(live.clients, 1, 'behind for 100 ms only')
  t.notOk(res.destroyed)
})

function sampled () {
  const clock = new SteppingClock(1_700_000_000_000)
  const history = new TrafficHistory({ clock })
  history.start()
  /** One second of `perSecond` requests, then the sample that closes it. */
  const second = (perSecond: number): void => {
    for (let i = 0; i < perSecond; i++) history.record('pay', 'a:1', 5, true)
    clock.advance(1000)
  }
  return { clock, history, second }
}

t.test('history: after the wall clock steps back 1 h, rates stay right and the axis goes on', async (t) => {
  const { clock, history, second } = sampled()
  t.teardown(() => history.stop())
  second(20)
  second(20)
  clock.advance(500)
  clock.step(-HOUR)
  for (let i = 0; i < 20; i++) history.record('pay', 'a:1', 5, true)
  clock.advance(500) // the sample that spans the step: 20 requests in 1 s of real time
  second(20)
  const series = history.series('pay')!
  t.same(series.rps, [20, 20, 20, 20], 'no spike: each point is over the second that really passed')
  t.same(series.t, [1_700_000_001_000, 1_700_000_002_000, 1_700_000_003_000, 1_700_000_004_000], 'ordered and 1 s apart, labelled from the wall time of the first sample')
  t.equal(history.target('pay', 'a:1')!.rps, 20, "the target's minute is right too")
})

t.test('history: after the wall clock steps forward 1 h, no point drops to 0 and the target keeps its minute', async (t) => {
  const { clock, history, second } = sampled()
  t.teardown(() => history.stop())
  for (let s = 0; s < 10; s++) second(30)
  clock.step(HOUR)
  second(30)
  const series = history.series('pay')!
  t.equal(series.rps.at(-1), 30)
  t.equal(series.t.at(-1)! - series.t.at(-2)!, 1000, 'the axis has no hour-wide gap')
  t.equal(history.target('pay', 'a:1')!.rps, 30, 'the last minute was not rolled out by the step')
})

// switchyard_target_up reads an ejection's deadline on the monotonic clock, as the pool does: a wall-clock step
// forward must not show an ejected target as up (the pool still takes it out) in the scrape.
t.test('metrics-target-up-clock-step', async (t) => {
  t.test('an ejected target stays down in /metrics across a wall-clock step forward', async (t) => {
    const clock = new SteppingClock(1_000_000)
    // port 1 refuses: one failure ejects the lone target for 60 s
    const gw = await startGateway({
      pools: { p: { targets: ['http://127.0.0.1:1'], retry: { attempts: 1 }, outlier: { consecutiveFailures: 1, baseEjectionMs: 60_000, maxEjectionPercent: 100 } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { clock, defaultMetrics: false })
    t.teardown(() => gw.close())
    const res = await fetch(`${gw.url}/x`)
    await res.arrayBuffer()
    t.equal(res.status, 502)
    const up = async (): Promise<number | undefined> => seriesOf(await gw.gateway.metrics!.render())[key('switchyard_target_up', { pool: 'p', target: '127.0.0.1:1' })]
    t.equal(gw.gateway.status().pools.p!.targets[0]!.state, 'ejected')
    t.equal(await up(), 0, 'down while ejected')
    clock.offset = HOUR
    t.equal(gw.gateway.status().pools.p!.targets[0]!.state, 'ejected', 'the pool still has it out')
    t.equal(await up(), 0, 'and so does the scrape, whatever the wall clock says')
  })
})
