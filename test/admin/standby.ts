// A gateway config with one Active-Standby pool `p` (one primary, one backup) on addresses nobody listens on: tests
// that set target health themselves (no health checks, no requests) and watch the tier, the feed or /status.
import type { GatewayConfig } from '../../src/config/schema.ts'

type PoolSettings = Omit<GatewayConfig['pools'][string], 'targets'>

export function standbyConfig (pool: PoolSettings = {}): GatewayConfig {
  return {
    pools: { p: { targets: ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', backup: true }], ...pool } },
    routes: [{ path: '/', pool: 'p' }],
  }
}
