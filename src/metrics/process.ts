// Node's default process metrics, collected once per process. collectDefaultMetrics starts an event-loop delay
// monitor and a GC observer that cannot be stopped, so one set per GatewayMetrics would leak in a process that
// builds many gateways (the tests do); they describe the process anyway, not a gateway.
// prom-client is loaded on the first scrape, when collection starts anyway: a gateway nobody scrapes does not
// hold its ~15 MiB of code and heap.
import type { Registry } from 'prom-client'

let registry: Promise<Registry> | undefined

/** `load` imports prom-client; a test passes one that fails. */
export function processRegistry (load: () => Promise<typeof import('prom-client')> = () => import('prom-client')): Promise<Registry> {
  registry ??= load().then(({ collectDefaultMetrics, Registry }) => {
    const r = new Registry()
    collectDefaultMetrics({ register: r })
    return r
  }).catch((error: unknown) => {
    // a load that failed (out of file descriptors at the first scrape) is tried again at the next scrape: kept,
    // it would answer every scrape 500 until a restart
    registry = undefined
    throw error
  })
  return registry
}
