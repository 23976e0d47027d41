// Counts the breakers' intervals: opossum keeps one per breaker (its rolling window) until the breaker is shut down,
// so after a case there must be one per running pool, whatever pools reloads built and retired.
export interface IntervalWatch {
  /** Intervals set from opossum and not cleared. */
  readonly live: Set<unknown>
  restore (): void
}

export function watchBreakerIntervals (): IntervalWatch {
  const original = { set: globalThis.setInterval, clear: globalThis.clearInterval }
  const live = new Set<unknown>()
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const handle = original.set(...args)
    if (new Error().stack?.includes('opossum') === true) live.add(handle)
    return handle
  }) as typeof setInterval
  globalThis.clearInterval = ((handle?: Parameters<typeof clearInterval>[0]) => {
    live.delete(handle)
    original.clear(handle)
  }) as typeof clearInterval
  return { live, restore () { globalThis.setInterval = original.set; globalThis.clearInterval = original.clear } }
}
