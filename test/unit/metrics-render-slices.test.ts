// A large exposition is written in slices with the event loop's turn between them (5,000 routes: ~180,000 series,
// 60 ms written at once, every scrape). What that must not change: the text is the same as one written at once;
// two scrapes at once get one text each with every series once (the state gauges are refilled at each render, and
// two renders interleaved would write series twice); a retired (route, pool) binding that turns idle while a render
// runs may have counted after its series were written, so it stays for the next render, which shows its final count.
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { parseExposition, seriesOf } from './metrics-exposition.ts'

/** A gateway's metrics with `routes` routes, each with one request counted (3 series of lines and a histogram). */
function metricsWith (routes: number, sliceMs: number): GatewayMetrics {
  const m = new GatewayMetrics({ defaultMetrics: false, sliceMs, source: { pools: () => [{ name: 'p', circuit: 'closed', tier: 'primary', hold: 'none', targets: [{ id: 'a:1', up: true, inFlight: 0 }].values() }] } })
  for (let i = 0; i < routes; i++) {
    const b = m.route(`r${i}`, 'p')
    b.begin()
    b.request('GET', 200, 0.01)
  }
  return m
}

t.test('written in slices, the text is the one written at once, and the event loop had turns between', async (t) => {
  const sliced = metricsWith(3000, 0)
  const whole = metricsWith(3000, Number.POSITIVE_INFINITY)
  let turns = 0
  let counting = true
  const count = (): void => { if (counting) { turns++; setImmediate(count) } }
  setImmediate(count)
  const text = await sliced.render()
  counting = false
  t.ok(turns >= 10, `the event loop ran ${turns} times during the render`)
  t.equal(text, await whole.render())
  t.ok(text.length > 100_000)
})

t.test('two renders at once: the same text, each series once', async (t) => {
  const m = metricsWith(3000, 0)
  const [a, b] = await Promise.all([m.render(), m.render()])
  t.equal(a, b)
  const names = parseExposition(a).samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`)
  t.equal(new Set(names).size, names.length, 'no series twice')
  t.equal(names.filter((n) => n.startsWith('switchyard_target_up')).length, 1, 'the state gauge once')
  // and a render after them is a render of its own (the shared one is over)
  m.route('r0', 'p').begin()
  m.route('r0', 'p').request('GET', 200, 0.01)
  t.equal(seriesOf(await m.render())['switchyard_requests_total{code="200",method="GET",pool="p",route="r0"}'], 2)
})

t.test('a retired binding that turns idle while a render runs stays for the next render, with its final count', async (t) => {
  const m = metricsWith(3000, 0)
  const b = m.route('late', 'p')
  b.begin()
  m.forgetRoute('late')
  const key = 'switchyard_requests_total{code="200",method="GET",pool="p",route="late"}'
  const rendering = m.render()
  // the render is under way (it yields between slices): the request in flight ends now
  await new Promise((resolve) => setImmediate(resolve))
  b.request('GET', 200, 0.01)
  await rendering
  t.equal(seriesOf(await m.render())[key], 1, 'the next render shows its final count')
  t.equal(seriesOf(await m.render())[key], undefined, 'and the one after has it no more')
})
