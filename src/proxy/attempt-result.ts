// What one attempt came to: kept apart from attempt.ts so the exchange can name it without importing the attempt.
import type { FailureKind } from '../resilience/classify.ts'

/**
 * Retries after a stale kept-alive connection (AttemptResult.stale) that `retry.attempts` does not count, as nginx
 * gives such a request an extra try: each goes to a target whose idle connections were just closed, or to another
 * one's, which may be as dead (a middlebox expired them all), so a pool of more targets than attempts needs them.
 * Bounded, for an upstream that resets every request sent on a connection it answered before.
 */
export const UNCOUNTED_STALE_RETRIES = 10

export interface AttemptResult {
  /** Response headers went to the client: this request is answered, nothing more may be tried. */
  responded: boolean
  /** What the upstream did wrong, if anything (counts for outlier detection and the breaker). */
  failure: FailureKind | 'status' | undefined
  /**
   * A timer ran out while the request waited inside undici for one of the target's connections, all open and
   * all busy: never written to the upstream, so not the upstream's failure (503 upstream_busy).
   */
  busy: boolean
  /**
   * The gateway's own resources failed the attempt (no file descriptor or local port for a connection): not the
   * upstream's failure either (503 overloaded), and not retried (the next attempt would meet the same shortage).
   */
  local: boolean
  /**
   * Reset before any byte of an answer on a kept-alive connection: the upstream (or a middlebox) had dropped it while
   * idle. The race of keep-alive, not a verdict on the target: no outlier failure or breaker verdict, and its retry
   * (idempotent requests, as for any reset) takes no budget slot, going out on a new connection.
   */
  stale: boolean
  /** Another attempt follows (policy, deadline and, for dropped responses, budget agreed). */
  retryable: boolean
  /** A retry slot was taken from the budget for the next attempt. */
  slotTaken: boolean
  /** Backoff before the next attempt. */
  delayMs: number
  error: unknown
}
