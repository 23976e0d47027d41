// Counts intervals set and not cleared, by wrapping the global setInterval/clearInterval: a leak check for what
// sets one per pool or breaker and must clear it when that is retired.
export interface IntervalWatch {
  /** Intervals set (those `counts` accepted) and not cleared. */
  readonly live: Set<unknown>
  restore (): void
}

/** `counts` runs inside setInterval, so `new Error().stack` there shows who set the interval. */
export function watchIntervals (counts: () => boolean = () => true): IntervalWatch {
  const original = { set: globalThis.setInterval, clear: globalThis.clearInterval }
  const live = new Set<unknown>()
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const handle = original.set(...args)
    if (counts()) live.add(handle)
    return handle
  }) as typeof setInterval
  globalThis.clearInterval = ((handle?: Parameters<typeof clearInterval>[0]) => {
    live.delete(handle)
    original.clear(handle)
  }) as typeof clearInterval
  return { live, restore () { globalThis.setInterval = original.set; globalThis.clearInterval = original.clear } }
}
