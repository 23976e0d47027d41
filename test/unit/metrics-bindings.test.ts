import t, { type Test } from 'tap'
import { buildGateway } from '../../src/app.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { CounterFamily } from '../../src/metrics/counter.ts'
import { HistogramFamily } from '../../src/metrics/histogram.ts'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { key, seriesOf } from './metrics-exposition.ts'

/** Counts label-set lookups (binding a series), the work that must happen once per combination, never per call. */
function countBinds (t: Test): { counter: string[][]; histogram: string[][] } {
  const binds = { counter: [] as string[][], histogram: [] as string[][] }
  const counterSeries = CounterFamily.prototype.series
  const histogramSeries = HistogramFamily.prototype.series
  CounterFamily.prototype.series = function (values) { binds.counter.push([...values]); return counterSeries.call(this, values) }
  HistogramFamily.prototype.series = function (values) { binds.histogram.push([...values]); return histogramSeries.call(this, values) }
  t.teardown(() => {
    CounterFamily.prototype.series = counterSeries
    HistogramFamily.prototype.series = histogramSeries
  })
  return binds
}

t.test('the same binding object for the same route and pool, pool, and target', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  t.equal(m.route('api', 'users'), m.route('api', 'users'))
  t.not(m.route('api', 'users'), m.route('api', 'users-canary'))
  t.not(m.route('api', 'users'), m.route('web', 'users'))
  t.equal(m.pool('users'), m.pool('users'))
  t.not(m.pool('users'), m.pool('orders'))
  t.equal(m.target('users', 'http://a:1'), m.target('users', 'http://a:1'))
  t.not(m.target('users', 'http://a:1'), m.target('orders', 'http://a:1'))
  t.same([m.route('api', 'users').route, m.route('api', 'users').pool], ['api', 'users'])
  t.same([m.target('users', 'http://a:1').pool, m.target('users', 'http://a:1').target], ['users', 'http://a:1'])
})

t.test('a repeated combination binds its series once, however many calls', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const binds = countBinds(t)
  const api = m.route('api', 'users')
  const pool = m.pool('users')
  const target = m.target('users', 'http://a:1')
  t.same(binds, { counter: [['users']], histogram: [] }, 'binding: the zeroed budget series only (a route binds its series at its first request)')
  binds.counter.length = 0
  binds.histogram.length = 0

  for (let i = 0; i < 1000; i++) {
    api.request('GET', 200, 0.01)
    api.request(i % 2 === 0 ? 'POST' : 'GET', i % 3 === 0 ? 503 : 200, 0.02)
    target.attempt(i % 10 === 0 ? 'timeout' : 'success')
    if (i % 100 === 0) pool.retry('timeout')
    api.readToPrimary('sticky')
    api.mirror('sent')
    api.canaryRollback()
  }
  t.same(binds.counter.sort(), [
    ['api'], // canary rollbacks
    ['api', 'sent'],
    ['api', 'sticky'],
    ['api', 'users', 'GET', '200'],
    ['api', 'users', 'GET', '503'],
    ['api', 'users', 'POST', '200'],
    ['api', 'users', 'POST', '503'],
    ['users', 'http://a:1', 'success'],
    ['users', 'http://a:1', 'timeout'],
    ['users', 'timeout'],
  ], 'one bind per distinct combination')
  t.same(binds.histogram, [['api', 'users']], 'the duration series bound once, at the first request')

  const series = seriesOf(await m.render())
  t.equal(series[key('switchyard_requests_total', { route: 'api', pool: 'users', method: 'GET', code: '200' })], 1000 + 333)
  t.equal(series[key('switchyard_request_duration_seconds_count', { route: 'api', pool: 'users' })], 2000)
  t.equal(series[key('switchyard_upstream_attempts_total', { pool: 'users', target: 'http://a:1', outcome: 'timeout' })], 100)
})

t.test('route() on an existing pair binds nothing new', async (t) => {
  const binds = countBinds(t)
  const m = new GatewayMetrics({ defaultMetrics: false })
  m.route('api', 'users').request('GET', 200, 0.01)
  const before = binds.counter.length + binds.histogram.length
  for (let i = 0; i < 100; i++) m.route('api', 'users').request('GET', 200, 0.01)
  t.equal(binds.counter.length + binds.histogram.length, before)
})

t.test('a gateway binds no series of a route before its first request', async (t) => {
  const binds = countBinds(t)
  const gateway = buildGateway(validateConfig({
    log: { level: 'silent' },
    pools: { api: { targets: ['http://127.0.0.1:9'] } },
    routes: Array.from({ length: 100 }, (_, i) => ({ path: `/r${i}`, pool: 'api' })),
  }))
  t.teardown(() => gateway.close())
  const { state } = gateway.proxy
  const labels = new Set(state.table.routes.map((r) => r.label))
  t.same(binds.histogram, [], 'no duration series for 100 routes')
  t.same(binds.counter.filter((values) => values.some((v) => labels.has(v))), [], 'no counter labelled by a route')

  const route = state.table.routes[7]!
  const observer = state.observers!.get(route, route.pool)
  t.equal(state.observers!.get(route, route.pool), observer, 'bound once')
  observer.request('GET', 200, 0.01)
  t.same(binds.histogram, [[route.label, 'api']], 'its duration series bound at its first request')
})
