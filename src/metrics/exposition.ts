// The Prometheus text format (version 0.0.4), written directly: label sets are escaped once when a series is
// bound, so a scrape only concatenates. (prom-client re-escapes every label of every line on each scrape, and
// hashes the label object on every increment: ~15 µs per series per scrape and ~1 µs per increment here.)
import type { MetricSpec } from './catalogue.ts'

const NEEDS_ESCAPE = /[\\"\n]/

export function escapeLabelValue (value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
}

/** `a="x",b="y"`: the inside of a label set, escaped. Throws on a wrong number of values (a programming error). */
export function labelPairs (names: readonly string[], values: readonly string[]): string {
  if (names.length !== values.length) throw new TypeError(`expected ${names.length} label values (${names.join(', ')}), got ${values.length}`)
  let out = ''
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : ','}${names[i]}="${escapeLabelValue(values[i]!)}"`
  return out
}

/** `{a="x",b="y"}`, or nothing for a metric without labels. */
export function labelSet (names: readonly string[], values: readonly string[]): string {
  const pairs = labelPairs(names, values)
  return pairs === '' ? '' : `{${pairs}}`
}

export function formatValue (value: number): string {
  if (Number.isFinite(value)) return String(value)
  if (Number.isNaN(value)) return 'NaN'
  return value > 0 ? '+Inf' : '-Inf'
}

export function header (spec: MetricSpec): string {
  const help = spec.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
  return `# HELP ${spec.name} ${help}\n# TYPE ${spec.name} ${spec.type}`
}
