// A retired (route, pool) binding idle as a render begins goes after that render, its final counts exported by it.
// Taken back into use while the render runs (a reload brought the pair back), it may count after its series were
// written; retired again before the render ends (another reload), it is idle again, but its last counts were never
// exported: it stays for the next render, which shows them (review AO: it was dropped, its last request lost).
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { seriesOf } from './metrics-exposition.ts'

const LATE = 'switchyard_requests_total{code="200",method="GET",pool="p",route="late"}'

t.test('taken back and retired again during a render: kept for the next render, with the count made meanwhile', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false, sliceMs: 0 })
  // enough series that the render yields between slices
  for (let i = 0; i < 3000; i++) {
    const b = m.route(`r${i}`, 'p')
    b.begin()
    b.request('GET', 200, 0.01)
  }
  const late = m.route('late', 'p')
  late.begin()
  late.request('GET', 200, 0.01)
  m.forgetRoute('late')
  const rendering = m.render()
  // the requests family (the first) is written by now
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  const back = m.route('late', 'p')
  t.equal(back, late, 'the same binding, taken back')
  back.begin()
  back.request('GET', 200, 0.01)
  m.forgetRoute('late')
  t.equal(seriesOf(await rendering)[LATE], 1, 'the render under way wrote the count before the second request')
  t.equal(seriesOf(await m.render())[LATE], 2, 'the next render shows the second')
  t.equal(seriesOf(await m.render())[LATE], undefined, 'and the one after has it no more')
})
