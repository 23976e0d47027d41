// The prom-client instruments for the catalogue, created on one registry (never prom-client's global one:
// a process may hold several gateways, each with its own series).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { CATALOGUE, type MetricKey, type MetricSpec } from './catalogue.ts'

type LabelOf<K extends MetricKey> = (typeof CATALOGUE)[K]['labelNames'][number]
type InstrumentOf<K extends MetricKey> =
  (typeof CATALOGUE)[K]['type'] extends 'counter' ? Counter<LabelOf<K>>
    : (typeof CATALOGUE)[K]['type'] extends 'histogram' ? Histogram<LabelOf<K>>
      : Gauge<LabelOf<K>>

export type Instruments = { readonly [K in MetricKey]: InstrumentOf<K> }

export function createInstruments (registry: Registry): Instruments {
  const out: Record<string, Counter | Gauge | Histogram> = {}
  for (const [key, spec] of Object.entries(CATALOGUE) as [MetricKey, MetricSpec][]) {
    const config = { name: spec.name, help: spec.help, labelNames: spec.labelNames, registers: [registry] }
    if (spec.type === 'counter') out[key] = new Counter(config)
    else if (spec.type === 'gauge') out[key] = new Gauge(config)
    else out[key] = new Histogram({ ...config, buckets: [...(spec.buckets ?? [])] })
  }
  return out as unknown as Instruments
}
