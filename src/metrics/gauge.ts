// A gauge family whose values are set wholesale (at scrape time, or when the config changes), never per request.
import type { MetricSpec } from './catalogue.ts'
import { labelSet, writeHeader, type TextWriter } from './exposition.ts'

export class GaugeFamily {
  readonly spec: MetricSpec
  readonly #values = new Map<string, number>()

  constructor (spec: MetricSpec) { this.spec = spec }

  set (values: readonly string[], value: number): void {
    this.#values.set(labelSet(this.spec.labelNames, values), value)
  }

  clear (): void { this.#values.clear() }

  render (out: TextWriter): void {
    writeHeader(out, this.spec)
    const name = this.spec.name
    for (const [labels, value] of this.#values) {
      out.text(name)
      out.text(labels)
      out.sample(' ', value)
    }
  }
}
