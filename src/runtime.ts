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
  setTimeout (callback: () => void, ms: number): Timer
  clearTimeout (timer: Timer | undefined): void
}

export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
}
