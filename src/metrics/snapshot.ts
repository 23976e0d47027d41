// State gauges (circuit state, active tier and hold, target up, in flight) and counts kept elsewhere (log bytes dropped) cost nothing per
// request: they are read from the gateway at scrape time, after clearing, so a pool or target removed by a reload
// disappears with it.
import { CIRCUIT_STATE_VALUE, POOL_HOLD_VALUE, POOL_TIER_VALUE, type CircuitState, type PoolHold, type PoolTier } from './catalogue.ts'
import type { Families } from './families.ts'

export interface TargetSnapshot {
  readonly id: string
  /** Whether the target may take new requests now. */
  readonly up: boolean
  readonly inFlight: number
}

export interface PoolSnapshot {
  readonly name: string
  readonly circuit: CircuitState
  readonly tier: PoolTier
  readonly hold: PoolHold
  readonly targets: Iterable<TargetSnapshot>
}

/** The gateway's live state, read once per render. */
export interface MetricsSnapshotSource {
  pools (): Iterable<PoolSnapshot>
  /** Open WebSocket tunnels, gateway-wide. */
  tunnels? (): number
  /** Bytes of log lines dropped so far, because their destination refused the write. */
  logDroppedBytes? (): number
}

export function fillStateGauges (families: Families, source: MetricsSnapshotSource | undefined): void {
  const { circuitState, poolActiveTier, poolHold, targetUp, targetInFlight, tunnelsOpen } = families
  circuitState.clear()
  poolActiveTier.clear()
  poolHold.clear()
  targetUp.clear()
  targetInFlight.clear()
  tunnelsOpen.clear()
  if (source === undefined) return
  if (source.tunnels !== undefined) tunnelsOpen.set([], source.tunnels())
  // a counter kept by the log's writer, read like the gauges (a family with no labels has its one series)
  if (source.logDroppedBytes !== undefined) families.logDroppedBytes.series([]).value = source.logDroppedBytes()
  for (const pool of source.pools()) {
    circuitState.set([pool.name], CIRCUIT_STATE_VALUE[pool.circuit])
    poolActiveTier.set([pool.name], POOL_TIER_VALUE[pool.tier])
    poolHold.set([pool.name], POOL_HOLD_VALUE[pool.hold])
    for (const target of pool.targets) {
      const labels = [pool.name, target.id]
      targetUp.set(labels, target.up ? 1 : 0)
      targetInFlight.set(labels, target.inFlight)
    }
  }
}
