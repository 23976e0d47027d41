// A histogram family. Each series keeps per-bucket counts (not cumulative, so observe() touches one slot)
// and the scrape adds them up.
import type { MetricSpec } from './catalogue.ts'
import { formatValue, labelPairs, LINES_PER_SLICE, renderWhole, writeHeader, type TextWriter } from './exposition.ts'

export class HistogramSeries {
  /** `name_bucket{a="x",b="y",`: each bucket line appends its le. */
  readonly bucketPrefix: string
  /** `name_sum{a="x",b="y"} ` */
  readonly sumPrefix: string
  /** `name_count{a="x",b="y"} ` */
  readonly countPrefix: string
  readonly #bounds: readonly number[]
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (name: string, pairs: string, bounds: readonly number[]) {
    const labels = pairs === '' ? '' : `{${pairs}}`
    this.bucketPrefix = `${name}_bucket{${pairs === '' ? '' : `${pairs},`}`
    this.sumPrefix = `${name}_sum${labels} `
    this.countPrefix = `${name}_count${labels} `
    this.#bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    if (Number.isNaN(value)) return // it would turn the sum into NaN for good
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
}

export class HistogramFamily {
  readonly spec: MetricSpec
  readonly #bounds: readonly number[]
  /** `le="0.005"} ` for each bound, then `le="+Inf"} `. */
  readonly #le: readonly string[]
  readonly #series = new Map<string, HistogramSeries>()

  constructor (spec: MetricSpec) {
    this.spec = spec
    this.#bounds = [...(spec.buckets ?? [])]
    this.#le = [...this.#bounds.map((b) => `le="${formatValue(b)}"} `), 'le="+Inf"} ']
  }

  series (values: readonly string[]): HistogramSeries {
    const pairs = labelPairs(this.spec.labelNames, values)
    let series = this.#series.get(pairs)
    if (series === undefined) {
      series = new HistogramSeries(this.spec.name, pairs, this.#bounds)
      this.#series.set(pairs, series)
    }
    return series
  }

  remove (values: readonly string[]): void {
    this.#series.delete(labelPairs(this.spec.labelNames, values))
  }

  /** A series that is never exported (for a detached binding). */
  orphan (): HistogramSeries { return new HistogramSeries(this.spec.name, '', this.#bounds) }

  render (out: TextWriter): void { renderWhole(this.slices(out)) }

  /** Renders the family, yielding after about every LINES_PER_SLICE lines (a series' lines are never split). */
  * slices (out: TextWriter): Generator<void> {
    writeHeader(out, this.spec)
    const le = this.#le
    const seriesPerSlice = Math.max(1, Math.floor(LINES_PER_SLICE / (le.length + 2)))
    let rendered = 0
    // as they are when the family's turn begins (a series bound again while the render is paused would come twice)
    for (const s of [...this.#series.values()]) {
      // a series is exported from its first observation, not from binding: a route with no traffic adds nothing
      if (s.count === 0) continue
      let cumulative = 0
      for (let i = 0; i < le.length; i++) {
        cumulative += s.counts[i]!
        out.text(s.bucketPrefix)
        out.sample(le[i]!, cumulative)
      }
      out.sample(s.sumPrefix, s.sum)
      out.sample(s.countPrefix, s.count)
      if (++rendered % seriesPerSlice === 0) yield
    }
  }
}
