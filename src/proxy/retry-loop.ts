// Attempts of one request within its pool: a different target each time, while policy, budget and deadline allow.
import type { PoolRuntime } from '../upstream/registry.ts'
import { sendAttempt, type AttemptResult } from './attempt.ts'
import type { Exchange } from './exchange.ts'

/** Attempts until one answers the client or the policy, budget or deadline says stop; returns the last. */
export async function tryTargets (ex: Exchange, runtime: PoolRuntime): Promise<AttemptResult | undefined> {
  let last: AttemptResult | undefined
  // a retry slot taken from the budget for the next attempt
  let slot = false
  try {
    for (;;) {
      if (ex.clientLeft()) return last
      const target = runtime.pool.pick(ex.pick, ex.tried)
      if (target === undefined) return last
      // A connect failure never reached an upstream, so sending it elsewhere adds no load to any: it takes no
      // budget slot (HAProxy's retry-on conn-failure with redispatch). A target that dies refuses every request
      // sent to it until health checks notice, far more at once than the budget allows; attempts still bound it.
      if (ex.attempts > 0 && !slot && last?.failure !== 'connect-failure') {
        if (!runtime.budget.tryAcquire()) return last
        slot = true
      }
      const isRetry = ex.attempts > 0
      const budgeted = slot
      // the failure that made this a retry (a retryable status that is not a failure status counts as 'status')
      const why = last?.busy === true ? 'busy' : last?.failure
      if (isRetry) runtime.observer.retry(why === undefined || why === 'client-abort' || why === 'bad-request' ? 'status' : why)
      try {
        last = await sendAttempt(ex, runtime, target)
      } finally {
        if (budgeted) runtime.budget.release()
        slot = false
      }
      slot = last.slotTaken
      if (last.responded || ex.clientGone || !last.retryable) return last
      if (last.delayMs > 0) await delay(runtime, last.delayMs)
    }
  } finally {
    if (slot) runtime.budget.release()
  }
}

function delay (runtime: PoolRuntime, ms: number): Promise<void> {
  return new Promise((resolve) => { runtime.clock.setTimeout(resolve, ms) })
}
