// Waiting for a pool breaker's next state change in tests.
import { once } from 'node:events'
import type { BreakerState } from '../../src/resilience/breaker.ts'

/**
 * Resolves with the breaker's next state. opossum's reset timer is real and unref'd: the guard timer stays ref'd so
 * the process does not exit while a test waits, and bounds the wait (2 s).
 */
export async function nextState (b: NodeJS.EventEmitter): Promise<BreakerState> {
  let guard: NodeJS.Timeout | undefined
  try {
    const [state] = await Promise.race([
      once(b, 'state') as Promise<[BreakerState, BreakerState]>,
      new Promise<never>((_, reject) => { guard = setTimeout(() => reject(new Error('no state change within 2 s')), 2000) }),
    ])
    return state
  } finally {
    clearTimeout(guard)
  }
}
