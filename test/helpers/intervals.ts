// Counts timers set and not cleared, by wrapping the global setInterval/clearInterval (or setTimeout/clearTimeout):
// a leak check for what sets one per pool or breaker and must clear it when that is retired.
export interface IntervalWatch {
  /** Timers set (those `counts` accepted) and not cleared. */
  readonly live: Set<unknown>
  restore (): void
}

type Timers = { set: (...args: never[]) => unknown, clear: (handle?: never) => void }

/** `counts` runs inside setInterval, so `new Error().stack` there shows who set the interval. */
export function watchIntervals (counts: () => boolean = () => true): IntervalWatch {
  return watchTimers('setInterval', 'clearInterval', counts)
}

/** The same for setTimeout: a timer that re-arms itself (a sampler) is live from one set to the next. */
export function watchTimeouts (counts: () => boolean = () => true): IntervalWatch {
  return watchTimers('setTimeout', 'clearTimeout', counts)
}

function watchTimers (setName: 'setInterval' | 'setTimeout', clearName: 'clearInterval' | 'clearTimeout', counts: () => boolean): IntervalWatch {
  const global = globalThis as unknown as Record<string, Timers['set'] | Timers['clear']>
  const original = { set: global[setName] as (...args: unknown[]) => unknown, clear: global[clearName] as (handle?: unknown) => void }
  const live = new Set<unknown>()
  global[setName] = ((...args: unknown[]) => {
    const handle = original.set(...args)
    if (counts()) live.add(handle)
    return handle
  }) as Timers['set']
  global[clearName] = ((handle?: unknown) => {
    live.delete(handle)
    original.clear(handle)
  }) as Timers['clear']
  return { live, restore () { global[setName] = original.set; global[clearName] = original.clear } }
}
