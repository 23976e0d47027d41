// The retry policy as data (see RetryPolicy in the config schema) plus the decisions made from it.
import type { RetryPolicy } from '../config/schema.ts'
import type { RandomSource } from '../runtime.ts'
import type { FailureKind } from './classify.ts'

const NON_IDEMPOTENT = new Set(['POST', 'PATCH', 'CONNECT'])

export interface RetryRequestFacts {
  method: string
  /** Whether the request carries an Idempotency-Key header and the pool honours it. */
  idempotencyKey: boolean
  /** Whether the body (if any) is buffered and can be sent again. */
  replayable: boolean
}

export class RetryDecider {
  readonly policy: RetryPolicy
  readonly #methods: ReadonlySet<string>
  readonly #statuses: ReadonlySet<number>
  readonly #kinds: ReadonlySet<number | string>
  readonly #random: RandomSource

  constructor (policy: RetryPolicy, random: RandomSource = Math.random) {
    this.policy = policy
    this.#methods = new Set(policy.methods)
    this.#statuses = new Set(policy.retryOn.filter((x): x is number => typeof x === 'number'))
    this.#kinds = new Set(policy.retryOn.filter((x) => typeof x === 'string'))
    this.#random = random
  }

  /** May this request be sent more than once at all? (Decides whether its body is buffered.) */
  mayRetry (method: string, idempotencyKey: boolean): boolean {
    return this.policy.attempts > 1 && (this.#methods.has(method) || NON_IDEMPOTENT.has(method) || idempotencyKey)
  }

  /** After a failed attempt with no response sent to the client: is another attempt allowed by policy? */
  retryableFailure (kind: FailureKind, req: RetryRequestFacts): boolean {
    if (!req.replayable || kind === 'client-abort' || !this.#kinds.has(kind)) return false
    // connect-failure: the request never left, so any method may go again
    if (kind === 'connect-failure') return true
    return this.#methodRetryable(req)
  }

  retryableStatus (status: number, req: RetryRequestFacts): boolean {
    return req.replayable && this.#statuses.has(status) && this.#methodRetryable(req)
  }

  /** Exponential backoff with full jitter; an upstream's Retry-After (seconds) wins, capped at maxMs. */
  backoffMs (retryNumber: number, retryAfterSeconds?: number): number {
    const { baseMs, maxMs } = this.policy.backoff
    if (retryAfterSeconds !== undefined && retryAfterSeconds >= 0) return Math.min(retryAfterSeconds * 1000, maxMs)
    const ceiling = Math.min(maxMs, baseMs * 2 ** (retryNumber - 1))
    return Math.floor(this.#random() * ceiling)
  }

  #methodRetryable (req: RetryRequestFacts): boolean {
    if (NON_IDEMPOTENT.has(req.method)) return req.idempotencyKey
    return this.#methods.has(req.method)
  }
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter (value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const v = Array.isArray(value) ? value[0] : value
  if (v === undefined) return undefined
  const trimmed = v.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  // only the three HTTP date forms (RFC 9110 §5.6.7); Date.parse alone accepts almost anything
  if (!HTTP_DATE.test(trimmed)) return undefined
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000))
}

const HTTP_DATE = /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/
