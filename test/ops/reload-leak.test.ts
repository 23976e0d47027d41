// 100 reloads alternating two configs, health checks on, a little traffic after each: nothing may pile up.
// Time is a ManualClock, so every gateway timer (health schedules, probe timeouts, ejection ends, the grace
// before a retired pool's breaker stops) is countable; the breakers' own intervals are counted by wrapping
// setInterval; upstream sockets are counted where they are accepted.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { slotTimersFor } from '../../src/health/slot-timers.ts'
import type { Clock, Timer } from '../../src/runtime.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { watchIntervals } from '../helpers/intervals.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

/**
 * A ManualClock that also knows which of its timers have a given delay: with the probe timeout's delay, those
 * are the health probes in flight. Time may only move on when none is, or a probe would time out for no reason.
 */
class ProbeAwareClock implements Clock {
  readonly manual: ManualClock
  readonly #live = new Map<Timer, number>()

  constructor (start: number) { this.manual = new ManualClock(start) }

  now (): number { return this.manual.now() }

  setTimeout (callback: () => void, ms: number): Timer {
    const timer: Timer = this.manual.setTimeout(() => { this.#live.delete(timer); callback() }, ms)
    this.#live.set(timer, ms)
    return timer
  }

  clearTimeout (timer: Timer | undefined): void {
    if (timer !== undefined) this.#live.delete(timer)
    this.manual.clearTimeout(timer)
  }

  /** Pending timers set with this delay. */
  pendingWithDelay (ms: number): number {
    let n = 0
    for (const delay of this.#live.values()) if (delay === ms) n++
    return n
  }
}

/** Intervals alive now (opossum keeps one per breaker, its rolling window, until it is shut down). */
function trackIntervals (t: { teardown (fn: () => void): void }): () => number {
  const watch = watchIntervals()
  t.teardown(() => watch.restore())
  return () => watch.live.size
}

/** Open TCP connections per upstream, as the upstream sees them. */
function openSockets (upstreams: readonly TestUpstream[]): () => Record<string, number> {
  const open = new Map<string, number>(upstreams.map((u) => [u.name, 0]))
  for (const u of upstreams) {
    u.server.on('connection', (socket) => {
      open.set(u.name, open.get(u.name)! + 1)
      socket.once('close', () => open.set(u.name, open.get(u.name)! - 1))
    })
  }
  return () => Object.fromEntries(open)
}

function countByType (): Record<string, number> {
  const out: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) out[type] = (out[type] ?? 0) + 1
  return out
}

/** Polls until `read` gives the same JSON twice in a row 50 ms apart (or 3 s pass), and returns it. */
async function settled<T> (read: () => T): Promise<T> {
  const until = Date.now() + 3000
  let last = JSON.stringify(read())
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const now = JSON.stringify(read())
    if (now === last || Date.now() > until) return read()
    last = now
  }
}

t.test('100 reloads alternating two configs with health checks: no growth in timers, intervals, pools, sockets or series', async (t) => {
  const intervals = trackIntervals(t)
  const upstreams = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all(upstreams.map((u) => u.close())))
  const [u1, u2, u3, u4] = upstreams as [TestUpstream, TestUpstream, TestUpstream, TestUpstream]
  const sockets = openSockets(upstreams)

  const healthCheck = { path: '/health', intervalMs: 1000, timeoutMs: 600, jitter: 0 }
  const timeouts = { requestMs: 1000 } // a retired pool's breaker stops 2 × requestMs + 1 s later
  // A: pool a (u1, u2) and pool b (u3). B: pool a (u1, u4): same settings, so kept with a new target list;
  // pool b removed; pool c (u2) added with other settings.
  const A: GatewayConfig = {
    pools: { a: { targets: [u1.url, u2.url], healthCheck, timeouts }, b: { targets: [u3.url], healthCheck, timeouts } },
    routes: [{ path: '/a', pool: 'a' }, { path: '/b', pool: 'b' }],
  }
  const B: GatewayConfig = {
    pools: { a: { targets: [u1.url, u4.url], healthCheck, timeouts }, c: { targets: [u2.url], healthCheck: { ...healthCheck, intervalMs: 1500 }, timeouts } },
    routes: [{ path: '/a', pool: 'a' }, { path: '/c', pool: 'c' }],
  }
  const clock = new ProbeAwareClock(Date.now())
  let next = A
  const gw = await startGateway(A, { clock, random: () => 0.25, defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())

  /** Two requests to pool a (round robin: one per target) and one to the other pool, each on its own connection. */
  const traffic = async (other: string): Promise<void> => {
    for (const path of ['/a', '/a', other]) {
      const res = await httpRequest(gw.url + path)
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`)
    }
  }
  /** Lets time pass: health rounds run (each probe answered before time moves on), and retired breakers' grace ends. */
  const pass = async (ms: number): Promise<void> => {
    for (let done = 0; done < ms; done += 250) {
      clock.manual.advance(250)
      await waitFor(() => clock.pendingWithDelay(healthCheck.timeoutMs) === 0)
    }
  }
  const snapshot = async (): Promise<{ timers: number; probes: number; intervals: number; pools: number; sockets: Record<string, number>; handles: Record<string, number> }> => {
    const from = clock.now()
    await pass(4000)
    t.ok(Object.values(gw.gateway.status().pools).every((p) => p.targets.every((x) => x.lastCheck?.ok === true && Date.parse(x.lastCheck.at) >= from + 3000)),
      'every target was probed, successfully, in that time')
    return settled(() => ({ timers: clock.manual.pendingTimers, probes: slotTimersFor(clock).scheduled, intervals: intervals(), pools: gw.gateway.pools().size, sockets: sockets(), handles: countByType() }))
  }
  const seriesCount = async (): Promise<number> => Object.keys(seriesOf(await gw.gateway.metrics!.render())).length

  await traffic('/b')
  const baseline = await snapshot()
  t.comment(`on A at start: ${JSON.stringify(baseline)}`)
  t.equal(baseline.probes, 3, 'one next probe scheduled per checked target (u1, u2, u3)')
  t.ok(baseline.timers >= 1 && baseline.timers <= baseline.probes, `on at most as many timers: probes due in one slot share one (${baseline.timers})`)
  t.equal(baseline.intervals, 2, 'one breaker interval per pool (its window; snapshots are off)')
  t.strictSame(baseline.sockets, { u1: 2, u2: 2, u3: 2, u4: 0 }, 'per target: one traffic and one probe connection')

  let seriesAfterTwo = 0
  for (let i = 1; i <= 100; i++) {
    next = i % 2 === 1 ? B : A
    const result = await gw.gateway.reload()
    if (result.result !== 'success') throw new Error(`reload ${i}: ${JSON.stringify(result)}`)
    if (i === 1) {
      await new Promise((resolve) => setImmediate(resolve))
      t.equal(intervals(), 2, 'the retired pool had nothing in flight: its breaker stopped at once, the new one runs')
    }
    await traffic(next === B ? '/c' : '/b')
    await pass(1000)
    if (i === 2) seriesAfterTwo = await seriesCount()
  }
  const final = await snapshot()
  t.comment(`on A after 100 reloads: ${JSON.stringify(final)}`)
  t.equal(final.probes, baseline.probes, 'no probe of a retired pool or removed target left scheduled')
  t.ok(final.timers >= 1 && final.timers <= final.probes, `no gateway timer left behind: none without a probe due (${final.timers})`)
  t.equal(final.intervals, baseline.intervals, "every retired pool's breaker stopped")
  t.equal(final.pools, 2, 'two pools, as configured')
  t.strictSame(final.sockets, baseline.sockets, 'upstream connections as at the start: those of removed targets closed')
  for (const type of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
    t.ok((final.handles[type] ?? 0) <= (baseline.handles[type] ?? 0), `no more ${type} handles than at the start (${final.handles[type] ?? 0} vs ${baseline.handles[type] ?? 0})`)
  }
  t.equal(await seriesCount(), seriesAfterTwo, 'as many metric series as after the first two reloads')
})

t.test('a pool runtime a reload replaced is garbage once its requests end: no runtime holds the one before it', async (t) => {
  // a full collection on demand, for this measurement only (the gateway itself never calls gc())
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  let variant = 0
  // each reload changes a pool setting, so the pool is built anew and the old runtime retired
  const config = (): GatewayConfig => ({ pools: { a: { targets: [u.url], retry: { attempts: 2 + (variant % 2) } } }, routes: [{ path: '/', pool: 'a' }] })
  const gw = await startGateway(config(), { defaultMetrics: false, load: async () => { variant++; return validateConfig(config()) } })
  t.teardown(() => gw.close())
  const replaced: WeakRef<object>[] = []
  for (let i = 0; i < 5; i++) {
    replaced.push(new WeakRef(gw.gateway.pools().get('a')!))
    t.equal((await httpRequest(gw.url + '/x')).status, 200)
    t.equal((await gw.gateway.reload()).result, 'success')
  }
  // a retired pool closes its targets' connections asynchronously: collect until none is left, or 3 s pass
  const alive = (): number => replaced.filter((r) => r.deref() !== undefined).length
  for (const until = Date.now() + 3000; ;) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    // first in this job: reading a WeakRef keeps its target alive until the job ends
    gc()
    if (alive() === 0 || Date.now() > until) break
  }
  t.equal(alive(), 0, 'every replaced runtime was collected')
})
