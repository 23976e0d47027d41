// A route a reload removed (forgetRoute) and a later reload brings back under the same id is counted again: its
// requests and route-only series start afresh from the first request after it returns. The bindings handed out
// before the removal count nowhere (so requests still in flight cannot bring the old series back), and if route()
// kept handing those out, a route taken out and put back would go dark on every dashboard for the life of the process.
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { seriesOf } from './metrics-exposition.ts'

t.test('after forgetRoute, route() binds fresh series that count', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const old = m.route('api', 'p')
  old.request('GET', 200, 0.01)
  m.forgetRoute('api')
  t.strictSame(m.routePools('api'), [], 'the route counts under no pool once forgotten')
  old.request('GET', 200, 0.01)
  t.same(Object.keys(seriesOf(await m.render())).filter((k) => k.includes('route="api"')), [], 'a held binding counts nowhere')

  const fresh = m.route('api', 'p')
  t.not(fresh, old, 'a new binding')
  fresh.request('GET', 200, 0.01)
  const series = seriesOf(await m.render())
  const requests = Object.entries(series).filter(([k]) => k.startsWith('switchyard_requests_total') && k.includes('route="api"'))
  t.equal(requests.length, 1, 'one request series for the route')
  t.equal(requests[0]?.[1], 1, 'counting the request after it came back, only')
  t.strictSame(m.routePools('api'), ['p'])
})
