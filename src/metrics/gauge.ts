// A gauge family whose values are set wholesale (at scrape time, or when the config changes), never per request.
import type { MetricSpec } from './catalogue.ts'
import { formatValue, header, labelSet } from './exposition.ts'

export class GaugeFamily {
  readonly spec: MetricSpec
  readonly #values = new Map<string, number>()

  constructor (spec: MetricSpec) { this.spec = spec }

  set (values: readonly string[], value: number): void {
    this.#values.set(labelSet(this.spec.labelNames, values), value)
  }

  clear (): void { this.#values.clear() }

  get size (): number { return this.#values.size }

  render (lines: string[]): void {
    lines.push(header(this.spec))
    const name = this.spec.name
    for (const [labels, value] of this.#values) lines.push(`${name}${labels} ${formatValue(value)}`)
  }
}
