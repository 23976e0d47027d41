// A (route, pool) binding a reload forgets is retired, not detached: its series stay exported and count the requests
// in flight on it (begin() not yet matched by request()) as they end, and go at the first render after the last one
// has (that render shows the final counts). With nothing in flight, the first render after shows its final counts
// and the second has none. route() asked for a retired pair takes the same binding back (one set of series, never
// two bindings over the same cells, the first of which would take them away when it goes). src/metrics/retired.ts.
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { seriesOf } from './metrics-exposition.ts'

/** The series of route api with pool p (requests, durations, errors), by key. */
async function pair (m: GatewayMetrics, pool = 'p'): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(seriesOf(await m.render())).filter(([k]) => k.includes('route="api"') && k.includes(`pool="${pool}"`)))
}

const REQUESTS = 'switchyard_requests_total{code="200",method="GET",pool="p",route="api"}'
const DURATIONS = 'switchyard_request_duration_seconds_count{pool="p",route="api"}'
const ERRORS = 'switchyard_request_errors_total{error="upstream_timeout",pool="p",route="api"}'

for (const forget of ['routePool', 'route', 'pool'] as const) {
  t.test(`${forget}: a binding with a request in flight counts it, shows it at one render, then goes`, async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    const b = m.route('api', 'p')
    b.begin()
    b.request('GET', 200, 0.01)
    b.begin()
    b.begin()
    if (forget === 'routePool') m.forgetRoutePool('api', 'p')
    else if (forget === 'route') m.forgetRoute('api')
    else m.forgetPool('p')
    t.strictSame(m.routePools('api'), [], 'not counted under the pool for the next requests')
    t.equal((await pair(m))[REQUESTS], 1, 'still exported while requests are in flight')
    b.request('GET', 200, 0.02)
    t.equal((await pair(m))[REQUESTS], 2, 'one still in flight: kept past a render')
    b.request('GET', 504, 5)
    b.error('upstream_timeout')
    const last = await pair(m)
    t.equal(last[REQUESTS], 2)
    t.equal(last['switchyard_requests_total{code="504",method="GET",pool="p",route="api"}'], 1, 'a late status binds its series')
    t.equal(last[DURATIONS], 3, 'every request in the histogram')
    t.equal(last[ERRORS], 1, 'and its error')
    t.strictSame(await pair(m), {}, 'gone at the render after the one that showed the last request')
    b.request('GET', 200, 0.01)
    b.error('upstream_timeout')
    t.strictSame(await pair(m), {}, 'a call after it went brings nothing back')
  })
}

for (const forget of ['routePool', 'route', 'pool'] as const) {
  t.test(`${forget}: a binding with nothing in flight shows its final counts at one render, then goes`, async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    const b = m.route('api', 'p')
    b.begin()
    b.request('GET', 200, 0.01)
    t.equal((await pair(m))[REQUESTS], 1, 'scraped')
    b.begin()
    b.request('GET', 200, 0.01)
    if (forget === 'routePool') m.forgetRoutePool('api', 'p')
    else if (forget === 'route') m.forgetRoute('api')
    else m.forgetPool('p')
    // was: detached at once, so the request counted since the last scrape was never exported
    t.equal((await pair(m))[REQUESTS], 2, 'the first render after the reload shows the final counts')
    t.strictSame(await pair(m), {}, 'the second has none')
    t.not(m.route('api', 'p'), b, 'a new binding when the route sends there again')
  })
}

t.test('route() asked for a retired pair takes the same binding back; it is no longer dropped', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const b = m.route('api', 'p')
  b.begin()
  b.request('GET', 200, 0.01)
  b.begin()
  m.forgetRoutePool('api', 'p')
  t.equal(m.route('api', 'p'), b, 'the same binding')
  t.strictSame(m.routePools('api'), ['p'])
  b.request('GET', 200, 0.01)
  m.route('api', 'p').begin()
  m.route('api', 'p').request('GET', 200, 0.01)
  t.equal((await pair(m))[REQUESTS], 3, 'one series, counting on')
  t.equal((await pair(m))[REQUESTS], 3, 'kept at every render: in use again')
  const lines = (await m.render()).split('\n').filter((l) => l.startsWith('switchyard_request') && l.includes('route="api"'))
  t.equal(new Set(lines.map((l) => l.slice(0, l.lastIndexOf(' ')))).size, lines.length, 'no series line twice')
})

t.test('a route removed and added back while a binding is retired: route-only series are the new route\'s', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const b = m.route('api', 'p')
  b.readToPrimary('sticky')
  b.begin()
  m.forgetRoute('api')
  t.same(Object.keys(seriesOf(await m.render())).filter((k) => k.includes('reads_to_primary')), [], 'a removed route\'s own series go at once')
  t.equal(m.route('api', 'p'), b, 'the route came back to the same pool: the retired binding')
  b.readToPrimary('sticky')
  b.request('GET', 200, 0.01)
  const series = seriesOf(await m.render())
  t.equal(series['switchyard_reads_to_primary_total{reason="sticky",route="api"}'], 1, 'counted in the new route\'s series, from zero')
  t.equal(series[REQUESTS], 1)
})

t.test('leave(): a request handed to another binding is no longer in flight on the first', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const replica = m.route('api', 'r')
  const primary = m.route('api', 'p')
  replica.begin()
  replica.request('GET', 200, 0.01)
  replica.begin()
  m.forgetRoutePool('api', 'r')
  t.ok(Object.keys(await pair(m, 'r')).length > 0, 'retired while the read is in flight on it')
  replica.leave()
  primary.begin()
  t.ok(Object.keys(await pair(m, 'r')).length > 0, 'shown at the render after the handover')
  t.strictSame(await pair(m, 'r'), {}, 'then gone, though the read goes on')
  primary.request('GET', 200, 0.01)
  t.equal((await pair(m))[REQUESTS], 1, 'counted by the binding it went to')
})
