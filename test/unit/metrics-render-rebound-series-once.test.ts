// A series removed and bound again while a render is paused between slices is listed once by that render. (A
// family's series are a Map, and iterating one visits a key deleted and set again a second time, at the end: two
// reloads during one scrape, removing a route and bringing it back, wrote its series twice, which Prometheus drops
// as duplicate samples.)
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { parseExposition, seriesOf } from './metrics-exposition.ts'

t.test('a route removed and brought back during a render: each series once', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false, sliceMs: 0 })
  for (let i = 0; i < 5000; i++) m.route(`r${i}`, 'p').mirror('sent')
  let rendering = true
  let k = 0
  // at each turn of the event loop while the render runs: route r<k> removed, brought back, and a mirror copy counted
  const churn = (): void => {
    if (!rendering) return
    m.forgetRoute(`r${k}`)
    m.route(`r${k}`, 'p').mirror('sent')
    k++
    setImmediate(churn)
  }
  setImmediate(churn)
  const text = await m.render()
  rendering = false
  t.ok(k > 10, 'routes were brought back while it ran')
  t.doesNotThrow(() => seriesOf(text), 'no series listed twice')
  t.equal(parseExposition(text).samples.filter((s) => s.name === 'switchyard_mirror_requests_total').length, 5000)
})
