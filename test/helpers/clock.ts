// A manual clock for tests: time moves only when the test says so, and timers fire in due order as it does.
import type { Clock, Timer } from '../../src/runtime.ts'

interface Pending { at: number; seq: number; delay: number; callback: () => void; active: boolean }

export class ManualClock implements Clock {
  #now: number
  #seq = 0
  readonly #pending = new Set<Pending>()

  constructor (start = 1_000_000) { this.#now = start }

  now (): number { return this.#now }

  setTimeout (callback: () => void, ms: number): Timer {
    const entry: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, delay: Math.max(0, ms), callback, active: true }
    this.#pending.add(entry)
    const timer = {
      entry,
      refresh: () => {
        entry.at = this.#now + entry.delay
        entry.seq = this.#seq++
        if (!entry.active) { entry.active = true; this.#pending.add(entry) }
        return timer
      },
      unref: () => timer,
    }
    return timer
  }

  clearTimeout (timer: Timer | undefined): void {
    const entry = (timer as { entry?: Pending } | undefined)?.entry
    if (entry === undefined) return
    entry.active = false
    this.#pending.delete(entry)
  }

  /** Timers still waiting to fire. */
  get pendingTimers (): number { return this.#pending.size }

  /** Milliseconds until each pending timer fires, soonest first (what a test expects to be armed, and for how long). */
  dueIn (): number[] {
    return [...this.#pending].sort((a, b) => a.at - b.at || a.seq - b.seq).map((p) => p.at - this.#now)
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order (timers set meanwhile included). */
  advance (ms: number): void {
    const until = this.#now + ms
    for (;;) {
      let next: Pending | undefined
      for (const p of this.#pending) if (p.at <= until && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p
      if (next === undefined) break
      this.#pending.delete(next)
      next.active = false
      this.#now = Math.max(this.#now, next.at)
      next.callback()
    }
    this.#now = until
  }

  /** Sets the time without firing anything (for code that only reads now()). */
  set (now: number): void { this.#now = now }
}

/** A clock that only tells the time it is given (for code that never sets timers, e.g. the breaker's Retry-After). */
export function clockAt (now: () => number): Clock {
  return {
    now,
    setTimeout: () => { throw new Error('this clock sets no timers') },
    clearTimeout: () => {},
  }
}

/**
 * A ManualClock whose wall clock (now) can step, as NTP or an operator's `date -s` steps it, while its monotonic clock
 * (monotonicNow) and its timers carry on: `offset` is how far the wall clock stands from the monotonic one.
 */
export class SteppingClock extends ManualClock {
  offset = 0
  override now (): number { return super.now() + this.offset }
  monotonicNow (): number { return super.now() }
  /** Steps the wall clock by `ms` (negative: back). */
  step (ms: number): void { this.offset += ms }
}
