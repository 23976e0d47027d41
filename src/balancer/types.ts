// One interface for every balancing algorithm: choose one of the candidates for this request.
// Candidates are what the pool says is available right now (health, ejection, drain and tier already applied).
// The pool hands over the same array until its available set changes, so balancers treat a list's identity as
// its version and precompute per list: a pick costs O(1) or O(log n) in the number of candidates.

export interface Candidate {
  readonly url: string
  readonly weight: number
  /** Requests currently in flight to this target. */
  readonly inFlight: number
}

export interface PickContext {
  /** The request's affinity key, for hash balancing; undefined when the request has none. */
  readonly hashKey?: string | undefined
}

export interface Balancer {
  /**
   * A candidate for this request, never one in `avoid` (the few targets a retry must not go back to; the caller
   * makes sure at least one candidate is not in it). A list must not be mutated once handed over.
   */
  pick<T extends Candidate> (candidates: readonly T[], ctx: PickContext, avoid?: readonly T[]): T | undefined
  /** A candidate's inFlight changed (the pool calls it on every acquire and release). */
  loadChanged? (candidate: Candidate): void
}

export type { RandomSource } from '../runtime.ts'
