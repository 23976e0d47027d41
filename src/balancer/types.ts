// One interface for every balancing algorithm: choose one of the candidates for this request.
// Candidates are what the pool says is available right now (health, ejection, drain and tier already applied).

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
  pick<T extends Candidate> (candidates: readonly T[], ctx: PickContext): T | undefined
}

export type { RandomSource } from '../runtime.ts'
