// One family per catalogue entry, owned by one GatewayMetrics (a process may hold several gateways, e.g. in tests).
import { CATALOGUE, type MetricKey, type MetricSpec } from './catalogue.ts'
import type { TextWriter } from './exposition.ts'
import { CounterFamily } from './counter.ts'
import { GaugeFamily } from './gauge.ts'
import { HistogramFamily } from './histogram.ts'

type FamilyOf<K extends MetricKey> =
  (typeof CATALOGUE)[K]['type'] extends 'counter' ? CounterFamily
    : (typeof CATALOGUE)[K]['type'] extends 'histogram' ? HistogramFamily
      : GaugeFamily

export type Families = { readonly [K in MetricKey]: FamilyOf<K> }

export function createFamilies (): Families {
  const out: Record<string, CounterFamily | GaugeFamily | HistogramFamily> = {}
  for (const [key, spec] of Object.entries(CATALOGUE) as [MetricKey, MetricSpec][]) {
    out[key] = spec.type === 'counter' ? new CounterFamily(spec) : spec.type === 'gauge' ? new GaugeFamily(spec) : new HistogramFamily(spec)
  }
  return out as unknown as Families
}

/** Every family in catalogue order, as the exposition lists them, in slices (see GatewayMetrics.render). */
export function * renderFamilies (families: Families, out: TextWriter): Generator<void> {
  for (const key of Object.keys(CATALOGUE) as MetricKey[]) {
    yield * families[key].slices(out)
    yield
  }
}
