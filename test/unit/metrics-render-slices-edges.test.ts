// What slicing a render (src/metrics/metrics.ts render, each family's slices()) must keep, past
// metrics-render-slices.test.ts:
// - a large family yields within itself (every LINES_PER_SLICE lines), and the families yield one after another, so a
//   render waits at most one slice whatever the shape of the exposition;
// - a histogram series is written whole between two turns of the event loop: one observed meanwhile cannot leave
//   its buckets, sum and count disagreeing in the exposition;
// - the bytes renderBytes() handed out (what GET /metrics is sending, maybe still to a slow client) are not written
//   over by the next render;
// - a retired (route, pool) binding that was idle as a render began, and that route() took back into use while the
//   render ran, is not dropped by it (nor one re-retired with a request in flight): the next render shows it; and one
//   that turns idle during a render that settles others is not settled with them.
import t from 'tap'
import { CATALOGUE } from '../../src/metrics/catalogue.ts'
import { CounterFamily } from '../../src/metrics/counter.ts'
import { LINES_PER_SLICE, TextWriter } from '../../src/metrics/exposition.ts'
import { createFamilies, renderFamilies } from '../../src/metrics/families.ts'
import { GaugeFamily } from '../../src/metrics/gauge.ts'
import { HistogramFamily } from '../../src/metrics/histogram.ts'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { parseExposition, seriesOf } from './metrics-exposition.ts'

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function yieldsOf (slices: Iterable<void>): number {
  let n = 0
  for (const _slice of slices) n++
  return n
}

t.test('a large family yields within itself; the families yield one by one', async (t) => {
  // three slices' worth (a slice much larger than 20,000 lines would not let a render pause within a family)
  const series = Math.min(3 * LINES_PER_SLICE, 20_000)
  const counter = new CounterFamily(CATALOGUE.requests)
  const gauge = new GaugeFamily(CATALOGUE.targetUp)
  const histogram = new HistogramFamily(CATALOGUE.requestDuration)
  for (let i = 0; i < series; i++) {
    counter.series([`r${i}`, 'p', 'GET', '200']).inc()
    gauge.set(['p', `t${i}`], 1)
    histogram.series([`r${i}`, 'p']).observe(0.01)
  }
  t.ok(yieldsOf(counter.slices(new TextWriter())) >= 3, 'a counter family')
  t.ok(yieldsOf(gauge.slices(new TextWriter())) >= 3, 'a gauge family')
  // a histogram series is LATENCY_BUCKETS.length + 3 lines (its buckets, +Inf, sum and count)
  t.ok(yieldsOf(histogram.slices(new TextWriter())) >= 3, 'a histogram family (each series is several lines)')
  t.ok(yieldsOf(renderFamilies(createFamilies(), new TextWriter())) >= Object.keys(CATALOGUE).length, 'after each family, even an empty one')
})

t.test('a histogram series is written whole between two turns of the event loop', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false, sliceMs: 0 })
  const bindings = Array.from({ length: 3000 }, (_, i) => m.route(`r${i}`, 'p'))
  const observe = (): void => {
    for (const b of bindings) {
      b.begin()
      b.request('GET', 200, 0.01)
    }
  }
  observe()
  let rendering = true
  const during = async (): Promise<void> => { while (rendering) { await turn(); observe() } }
  const observing = during()
  const text = await m.render()
  rendering = false
  await observing
  const buckets = new Map<string, number[]>()
  const counts = new Map<string, number>()
  for (const s of parseExposition(text).samples) {
    const route = s.labels.route!
    if (s.name === 'switchyard_request_duration_seconds_bucket') {
      const list = buckets.get(route) ?? []
      list.push(s.value)
      buckets.set(route, list)
    } else if (s.name === 'switchyard_request_duration_seconds_count') counts.set(route, s.value)
  }
  t.equal(counts.size, 3000)
  let torn = 0
  for (const [route, count] of counts) {
    const list = buckets.get(route)!
    if (list.at(-1) !== count || list.some((v, i) => i > 0 && v < list[i - 1]!)) torn++
  }
  t.equal(torn, 0, 'every series: its +Inf bucket is its count, its buckets never decrease')
})

t.test('the bytes handed out are not written over by the next render', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const b = m.route('r', 'p')
  b.begin()
  b.request('GET', 200, 0.01)
  const first = await m.renderBytes()
  const copy = Buffer.from(first)
  b.begin()
  b.request('GET', 200, 0.01)
  const second = await m.renderBytes()
  t.ok(first.equals(copy), 'the first render\'s bytes are as they were')
  t.equal(seriesOf(second.toString())['switchyard_requests_total{code="200",method="GET",pool="p",route="r"}'], 2)
})

/** A gateway's metrics with `routes` routes counted (a render long enough to pause), and the pair ('late', 'p'). */
function metricsWith (routes: number): GatewayMetrics {
  const m = new GatewayMetrics({ defaultMetrics: false, sliceMs: 0 })
  for (let i = 0; i < routes; i++) {
    const b = m.route(`r${i}`, 'p')
    b.begin()
    b.request('GET', 200, 0.01)
  }
  return m
}
const LATE = 'switchyard_requests_total{code="200",method="GET",pool="p",route="late"}'

t.test('a retired binding taken back into use while a render runs is not dropped by it', async (t) => {
  const m = metricsWith(3000)
  const b = m.route('late', 'p')
  b.begin()
  b.request('GET', 200, 0.01)
  m.forgetRoute('late') // retired, idle: the next render shows its final count, then it goes...
  const rendering = m.render()
  await turn()
  // ...unless a reload brings the route back meanwhile: the same binding, in use again
  const back = m.route('late', 'p')
  t.equal(back, b, 'the retired binding taken back')
  back.begin()
  back.request('GET', 200, 0.01)
  await rendering
  t.equal(seriesOf(await m.render())[LATE], 2, 'the next render shows it, counting on')
  t.equal(seriesOf(await m.render())[LATE], 2, 'and the one after too: the route is in use')
})

t.test('one taken back and retired again with a request in flight stays until that request is counted', async (t) => {
  const m = metricsWith(3000)
  const b = m.route('late', 'p')
  b.begin()
  b.request('GET', 200, 0.01)
  m.forgetRoute('late')
  const rendering = m.render()
  await turn()
  const back = m.route('late', 'p')
  back.begin() // a request in flight
  m.forgetRoute('late') // and a second reload removes the route again
  await rendering
  back.request('GET', 200, 0.01)
  t.equal(seriesOf(await m.render())[LATE], 2, 'the next render shows the request that was in flight')
  t.equal(seriesOf(await m.render())[LATE], undefined, 'and the one after has it no more')
})

t.test('with another retired binding settled by the render, one that turns idle during it still waits for the next', async (t) => {
  const m = metricsWith(3000)
  const early = m.route('early', 'p')
  early.begin()
  early.request('GET', 200, 0.01)
  const b = m.route('late', 'p')
  b.begin()
  m.forgetRoute('early') // idle as the render begins: it shows its final count and goes
  m.forgetRoute('late') // busy as it begins
  const rendering = m.render()
  await turn()
  b.request('GET', 200, 0.01) // counted after its series may have been written
  const EARLY = 'switchyard_requests_total{code="200",method="GET",pool="p",route="early"}'
  t.equal(seriesOf(await rendering)[EARLY], 1, 'the idle one shows its final count')
  const next = seriesOf(await m.render())
  t.equal(next[EARLY], undefined, 'and is gone at the next render')
  t.equal(next[LATE], 1, 'which shows the other with its final count')
  t.equal(seriesOf(await m.render())[LATE], undefined, 'and the one after has it no more')
})
