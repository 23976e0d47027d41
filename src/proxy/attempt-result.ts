// What one attempt came to: kept apart from attempt.ts so the exchange can name it without importing the attempt.
import type { FailureKind } from '../resilience/classify.ts'

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
   * idle. The race of keep-alive, not the target's failure (`failure` stays undefined: no outlier failure, breaker
   * verdict or failure count; outcome 'stale'). Its retry (idempotent requests, as for a reset) is an extra try at
   * once, with no budget slot, and every later try of the request goes out on a new connection (so a request finds
   * one stale connection at most).
   */
  stale: boolean
  /** Another attempt follows (policy, deadline and, for dropped responses, budget agreed). */
  retryable: boolean
  /**
   * Policy allowed another attempt but the request's deadline left no time for it: the request timed out (504
   * upstream_timeout when this attempt has no failure of its own to report, as after a stale connection).
   */
  outOfTime: boolean
  /** A retry slot was taken from the budget for the next attempt. */
  slotTaken: boolean
  /** Backoff before the next attempt. */
  delayMs: number
  error: unknown
}
