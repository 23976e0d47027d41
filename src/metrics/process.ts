// Node's default process metrics, collected once per process. collectDefaultMetrics starts an event-loop delay
// monitor and a GC observer that cannot be stopped, so one set per GatewayMetrics would leak in a process that
// builds many gateways (the tests do); they describe the process anyway, not a gateway.
import { collectDefaultMetrics, Registry } from 'prom-client'

let registry: Registry | undefined

export function processRegistry (): Registry {
  if (registry === undefined) {
    registry = new Registry()
    collectDefaultMetrics({ register: registry })
  }
  return registry
}
