// Counts the breakers' intervals: opossum keeps one per breaker (its rolling window) until the breaker is shut down,
// so after a case there must be one per running pool, whatever pools reloads built and retired.
import { watchIntervals, type IntervalWatch } from '../../helpers/intervals.ts'

export type { IntervalWatch }

export function watchBreakerIntervals (): IntervalWatch {
  return watchIntervals(() => new Error().stack?.includes('opossum') === true)
}
