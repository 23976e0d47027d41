// Node's default process metrics, collected once per process. collectDefaultMetrics starts an event-loop delay
// monitor and a GC observer that cannot be stopped, so one set per GatewayMetrics would leak in a process that
// builds many gateways (the tests do); they describe the process anyway, not a gateway.
// prom-client is loaded on the first scrape, when collection starts anyway: a gateway nobody scrapes does not
// hold its ~15 MiB of code and heap.
import type { Registry } from 'prom-client'

let registry: Promise<Registry> | undefined

export function processRegistry (): Promise<Registry> {
  registry ??= import('prom-client').then(({ collectDefaultMetrics, Registry }) => {
    const r = new Registry()
    collectDefaultMetrics({ register: r })
    return r
  })
  return registry
}
