// A gauge family whose values are set wholesale (at scrape time, or when the config changes), never per request.
import type { MetricSpec } from './catalogue.ts'
import { LINES_PER_SLICE, labelSet, renderWhole, writeHeader, type TextWriter } from './exposition.ts'

export class GaugeFamily {
  readonly spec: MetricSpec
  readonly #values = new Map<string, number>()

  constructor (spec: MetricSpec) { this.spec = spec }

  set (values: readonly string[], value: number): void {
    this.#values.set(labelSet(this.spec.labelNames, values), value)
  }

  clear (): void { this.#values.clear() }

  render (out: TextWriter): void { renderWhole(this.slices(out)) }

  /** Renders the family, yielding every LINES_PER_SLICE series. */
  * slices (out: TextWriter): Generator<void> {
    writeHeader(out, this.spec)
    const name = this.spec.name
    let lines = 0
    // as they are when the family's turn begins (a key set again while the render is paused would come twice)
    for (const [labels, value] of [...this.#values]) {
      out.text(name)
      out.text(labels)
      out.sample(' ', value)
      if (++lines % LINES_PER_SLICE === 0) yield
    }
  }
}
