// What the proxy routes with: the routing table and the pools it names. Swapped whole on reload; a request
// keeps the state it started with.
import type { RoutingTable } from './routing/table.ts'
import type { PoolRuntime } from './upstream/registry.ts'

export interface GatewayState {
  readonly table: RoutingTable
  readonly pools: ReadonlyMap<string, PoolRuntime>
}
