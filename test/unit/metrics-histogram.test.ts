import t from 'tap'
import { TextWriter } from '../../src/metrics/exposition.ts'
import { HistogramFamily } from '../../src/metrics/histogram.ts'
import { parseExposition } from './metrics-exposition.ts'

const spec = { name: 'h_seconds', help: 'test', type: 'histogram', labelNames: ['route'], buckets: [1, 2, 5] } as const

/** Renders one series after the observations: cumulative count per le, then sum and count. */
function observed (values: number[]): { buckets: Record<string, number>; sum: number; count: number } | undefined {
  const family = new HistogramFamily(spec)
  const series = family.series(['r'])
  for (const v of values) series.observe(v)
  const out = new TextWriter()
  family.render(out)
  const { samples } = parseExposition(out.take())
  if (samples.length === 0) return undefined
  const buckets = Object.fromEntries(samples.filter((s) => s.name === 'h_seconds_bucket').map((s) => [s.labels.le!, s.value]))
  return {
    buckets,
    sum: samples.find((s) => s.name === 'h_seconds_sum')!.value,
    count: samples.find((s) => s.name === 'h_seconds_count')!.value,
  }
}

const cases: [string, number[], Record<string, number> | undefined, number?][] = [
  ['no observation: no series', [], undefined],
  ['zero goes in the first bucket', [0], { 1: 1, 2: 1, 5: 1, '+Inf': 1 }, 0],
  ['a value on a bound counts in that bucket (le is inclusive)', [1], { 1: 1, 2: 1, 5: 1, '+Inf': 1 }, 1],
  ['just above a bound goes to the next', [1.5], { 1: 0, 2: 1, 5: 1, '+Inf': 1 }, 1.5],
  ['the last bound', [5], { 1: 0, 2: 0, 5: 1, '+Inf': 1 }, 5],
  ['above every bound: +Inf only', [6], { 1: 0, 2: 0, 5: 0, '+Inf': 1 }, 6],
  ['infinity', [Infinity], { 1: 0, 2: 0, 5: 0, '+Inf': 1 }, Infinity],
  ['NaN is not observed (it would poison the sum)', [NaN], undefined],
  ['NaN among values leaves the others intact', [1, NaN, 3], { 1: 1, 2: 1, 5: 2, '+Inf': 2 }, 4],
  ['cumulative over a mix', [0.5, 1, 2, 3, 4, 10, 0.25], { 1: 3, 2: 4, 5: 6, '+Inf': 7 }, 20.75],
]

for (const [name, values, buckets, sum] of cases) {
  t.test(name, async (t) => {
    const got = observed(values)
    if (buckets === undefined) {
      t.equal(got, undefined)
      return
    }
    t.same(got, { buckets, sum, count: values.filter((v) => !Number.isNaN(v)).length })
  })
}

t.test('the label set and le are both present on every bucket line, le last', async (t) => {
  const family = new HistogramFamily(spec)
  family.series(['r']).observe(1)
  const out = new TextWriter()
  family.render(out)
  t.same(out.take().split('\n'), [
    '# HELP h_seconds test',
    '# TYPE h_seconds histogram',
    'h_seconds_bucket{route="r",le="1"} 1',
    'h_seconds_bucket{route="r",le="2"} 1',
    'h_seconds_bucket{route="r",le="5"} 1',
    'h_seconds_bucket{route="r",le="+Inf"} 1',
    'h_seconds_sum{route="r"} 1',
    'h_seconds_count{route="r"} 1',
    '',
  ])
})

// The text format lists exactly NaN, +Inf and -Inf as the non-numeric values: an infinite sum must be written
// `+Inf` (JavaScript's String() gives `Infinity`, which the format does not name and strict parsers reject).
t.test('an infinite sum is written +Inf, a NaN gauge NaN: the spellings the text format names', async (t) => {
  const family = new HistogramFamily(spec)
  family.series(['r']).observe(Infinity)
  const out = new TextWriter()
  family.render(out)
  const lines = out.take().split('\n')
  t.ok(lines.includes('h_seconds_sum{route="r"} +Inf'), 'the sum line')
  const writer = new TextWriter()
  writer.sample('g ', -Infinity)
  writer.sample('g ', NaN)
  t.equal(writer.take(), 'g -Inf\ng NaN\n')
})
