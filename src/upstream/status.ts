// A target's availability, as its pool keeps it. Every change goes through UpstreamPool.setStatus().

export interface TargetStatus {
  /** Active health checks' verdict (true until checks say otherwise). */
  readonly healthy: boolean
  /**
   * Outlier ejection: unavailable until this time on the gateway clock's monotonic milliseconds (monotonicMs in
   * src/runtime.ts; 0 = not ejected): a deadline no wall-clock step may move.
   */
  readonly ejectedUntil: number
  /** Taking no new requests, finishing the ones in flight. */
  readonly draining: boolean
  /** Taken out by an operator, at once. */
  readonly disabled: boolean
  /** A replica whose health check reports more replication lag than its read routes allow. */
  readonly lagging: boolean
  /** Lagging because its lag was never reported yet (a replica just started or added), not because it is behind. */
  readonly lagUnknown?: boolean
}

export const INITIAL_STATUS: TargetStatus = Object.freeze({ healthy: true, ejectedUntil: 0, draining: false, disabled: false, lagging: false })

/** One word for operators (/status, metrics, dashboard); the most decisive reason wins. */
export type TargetState = 'healthy' | 'unhealthy' | 'ejected' | 'lagging' | 'draining' | 'drained' | 'disabled'

export function targetState (status: TargetStatus, inFlight: number, now: number): TargetState {
  if (status.disabled) return 'disabled'
  if (status.draining) return inFlight === 0 ? 'drained' : 'draining'
  if (!status.healthy) return 'unhealthy'
  if (status.ejectedUntil > now) return 'ejected'
  if (status.lagging) return 'lagging'
  return 'healthy'
}

export function isAvailable (status: TargetStatus, now: number): boolean {
  return status.healthy && !status.draining && !status.disabled && !status.lagging && status.ejectedUntil <= now
}
