// A counter family: its series by label set. Binding a series (series()) is the only place a label set is
// looked up; the hot path keeps the returned cell and adds to it.
import type { MetricSpec } from './catalogue.ts'
import { LINES_PER_SLICE, labelSet, renderWhole, writeHeader, type TextWriter } from './exposition.ts'

export class CounterSeries {
  value = 0
  /** `name{a="x",b="y"} `: the exposition line up to its value, escaped once. */
  readonly prefix: string
  constructor (prefix: string) { this.prefix = prefix }
  inc (): void { this.value++ }
}

export class CounterFamily {
  readonly spec: MetricSpec
  readonly #series = new Map<string, CounterSeries>()

  constructor (spec: MetricSpec) { this.spec = spec }

  /** The series of these label values (in labelNames order), created at 0 on first use. */
  series (values: readonly string[]): CounterSeries {
    const labels = labelSet(this.spec.labelNames, values)
    let series = this.#series.get(labels)
    if (series === undefined) {
      series = new CounterSeries(`${this.spec.name}${labels} `)
      this.#series.set(labels, series)
    }
    return series
  }

  /** A cell that is never exported (for bindings whose series were removed). */
  orphan (): CounterSeries { return new CounterSeries('') }

  /** Stops exporting a series; a cell still held elsewhere keeps counting but is never rendered again. */
  remove (values: readonly string[]): void {
    this.#series.delete(labelSet(this.spec.labelNames, values))
  }

  render (out: TextWriter): void { renderWhole(this.slices(out)) }

  /** Renders the family, yielding every LINES_PER_SLICE series. */
  * slices (out: TextWriter): Generator<void> {
    writeHeader(out, this.spec)
    let lines = 0
    // the series as they are when the family's turn begins: one removed and bound again while the render is paused
    // would be visited again at the Map's end, and written twice
    for (const s of [...this.#series.values()]) {
      out.sample(s.prefix, s.value)
      if (++lines % LINES_PER_SLICE === 0) yield
    }
  }
}
