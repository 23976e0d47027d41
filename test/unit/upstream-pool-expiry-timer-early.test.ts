// An ejection that ends is an event even when no request comes (the operator's event feed says "back in"): the pool
// arms a timer at its end. Node's timers may fire a millisecond before the wall clock reaches the expiry; such a timer
// finds nothing to expire and must be armed again, or the target's return goes untold until a request happens to
// come (src/upstream/pool.ts #scheduleExpiry(): `if (this.#expiryTimer === undefined) this.#recompute()`).
import t from 'tap'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import type { Clock, Timer } from '../../src/runtime.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import { Target } from '../../src/upstream/target.ts'
import { poolConfig } from './config-fixtures.ts'

/** A clock whose timers fire only when the test says, whatever the time (to fire one early, as the wall clock allows). */
class EarlyClock implements Clock {
  nowMs = 1_000_000
  readonly timers = new Set<{ at: number; callback: () => void }>()
  now (): number { return this.nowMs }
  setTimeout (callback: () => void, ms: number): Timer {
    const entry = { at: this.nowMs + ms, callback }
    this.timers.add(entry)
    const timer = { entry, refresh: () => timer, unref: () => timer }
    return timer
  }

  clearTimeout (timer: Timer | undefined): void {
    const entry = (timer as { entry?: { at: number; callback: () => void } } | undefined)?.entry
    if (entry !== undefined) this.timers.delete(entry)
  }

  /** Fires the one pending timer now, whatever time it was set for. */
  fire (): void {
    const [entry] = this.timers
    this.timers.delete(entry!)
    entry!.callback()
  }
}

t.test('an expiry timer that fires before the ejection ends is armed again, and the return is then told', async (t) => {
  const clock = new EarlyClock()
  const config = poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] })
  const targets = config.targets.map((tc) => new Target(tc, config))
  const pool = new UpstreamPool('p', config, targets, new RoundRobinBalancer(), clock)
  t.teardown(() => pool.close())
  const ended: number[] = []
  pool.on('status', (_target, status, previous) => { if (previous.ejectedUntil !== 0 && status.ejectedUntil === 0) ended.push(clock.nowMs) })
  const until = clock.nowMs + 1000
  pool.setStatus(targets[0]!, { ejectedUntil: until })
  t.equal(clock.timers.size, 1, 'a timer for the end of the ejection')
  clock.nowMs = until - 1
  clock.fire()
  t.strictSame(ended, [], 'fired a millisecond early: nothing ends yet')
  t.equal(clock.timers.size, 1, 'and the timer is armed again')
  t.strictSame([...clock.timers].map((x) => x.at), [until], 'for the same end')
  clock.nowMs = until
  clock.fire()
  t.strictSame(ended, [until], "the ejection's end is told without a request")
})
