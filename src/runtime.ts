// What the gateway reads time and chance from. Injected everywhere a decision depends on them, so tests can
// drive deadlines, backoff, health thresholds and ejections with a manual clock and never sleep.

/** Returns a float in [0, 1), like Math.random. */
export type RandomSource = () => number

/** A pending timer: refresh() restarts it with its original delay. */
export interface Timer {
  refresh (): unknown
  unref (): unknown
}

export interface Clock {
  /** Epoch milliseconds. */
  now (): number
  /** Milliseconds on a clock that never steps, as timers run (when missing, now() is taken to be one). */
  monotonicNow? (): number
  setTimeout (callback: () => void, ms: number): Timer
  clearTimeout (timer: Timer | undefined): void
}

/** The clock's monotonic milliseconds (now() where it has none): deadlines, which a wall-clock step must not move. */
export function monotonicMs (clock: Clock): number {
  return clock.monotonicNow !== undefined ? clock.monotonicNow() : clock.now()
}

/** The longest delay a Node timer waits: a longer one fires at once (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2_147_483_647

export const systemClock: Clock = {
  now: Date.now,
  monotonicNow: () => performance.now(),
  // capped: a delay derived from settings at their maximum (requestMs × 2 + 1 s, an interval plus jitter) must not
  // wrap round to an immediate firing
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(ms, MAX_TIMER_MS)),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
}

/**
 * A timeout whose verdict waits one turn of the event loop. A timer that fires late because this process stalled
 * (a long collection, a burst of work) runs before the poll phase that would read an answer already waiting in
 * a socket: waiting that turn means a stall of the gateway's own is never blamed on an upstream (a soak saw all
 * three targets of a pool marked down at once after one). Costs nothing until it fires.
 */
export function setVerdictTimeout (clock: Clock, verdict: () => void, ms: number): Timer {
  return clock.setTimeout(() => setImmediate(verdict), ms)
}
