import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { seriesOf } from './metrics-exposition.ts'

/** Two pools with traffic on every per-request series: everything forgetting may remove. */
function busyGateway (): GatewayMetrics {
  const m = new GatewayMetrics({ defaultMetrics: false })
  for (const pool of ['users', 'orders']) {
    const route = m.route(`${pool}-api`, pool)
    route.request('GET', 200, 0.01)
    route.readToPrimary('fallback')
    route.canaryRollback()
    route.mirror('failed')
    m.route('shared', pool).request('GET', 200, 0.01)
    m.pool(pool).retry('reset')
    m.pool(pool).budgetExhausted()
    m.target(pool, `http://${pool}:1`).attempt('success')
    m.target(pool, `http://${pool}:2`).attempt('timeout')
  }
  return m
}

/** The series keys that carry this label value (any label). */
function keysWith (series: Record<string, number>, value: string): string[] {
  return Object.keys(series).filter((k) => k.includes(`=${JSON.stringify(value)}`))
}

t.test('forgetPool removes every series labelled with the pool, and only those', async (t) => {
  const m = busyGateway()
  const before = seriesOf(await m.render())
  t.ok(keysWith(before, 'users').length > 0)
  m.forgetPool('users')
  const after = seriesOf(await m.render())
  t.same(keysWith(after, 'users'), [])
  // every other series is untouched, values included: the orders pool, and the users route's route-only series
  const kept = Object.fromEntries(Object.entries(before).filter(([k]) => !k.includes('pool="users"')))
  t.same(after, kept)
  t.ok(keysWith(after, 'users-api').length > 0, 'the route still exists: its reads-to-primary, rollbacks and mirrors stay')
})

t.test('bindings held from before forgetPool count nowhere; a new binding starts from zero', async (t) => {
  const m = busyGateway()
  const oldRoute = m.route('users-api', 'users')
  const oldPool = m.pool('users')
  const oldTarget = m.target('users', 'http://users:1')
  m.forgetPool('users')
  // a request still in flight finishes: old combinations and new ones alike
  oldRoute.request('GET', 200, 0.01)
  oldRoute.request('DELETE', 500, 0.01)
  oldPool.retry('reset')
  oldPool.retry('bad-response')
  oldPool.budgetExhausted()
  oldTarget.attempt('success')
  oldTarget.attempt('client-abort')
  t.same(keysWith(seriesOf(await m.render()), 'users'), [], 'no pool series came back')

  // the reload brought the pool back: fresh bindings, counting from zero
  t.not(m.route('users-api', 'users'), oldRoute)
  t.not(m.pool('users'), oldPool)
  t.not(m.target('users', 'http://users:1'), oldTarget)
  m.route('users-api', 'users').request('GET', 200, 0.01)
  m.target('users', 'http://users:1').attempt('success')
  const series = seriesOf(await m.render())
  t.same(Object.fromEntries(Object.entries(series).filter(([k]) => k.includes('pool="users"') && !k.includes('duration'))), {
    'switchyard_requests_total{code="200",method="GET",pool="users",route="users-api"}': 1,
    'switchyard_retry_budget_exhausted_total{pool="users"}': 0,
    'switchyard_upstream_attempts_total{outcome="success",pool="users",target="http://users:1"}': 1,
  })
  t.equal(series['switchyard_request_duration_seconds_count{pool="users",route="users-api"}'], 1)
})

t.test('forgetRoute removes the route with every pool and its route-only series', async (t) => {
  const m = busyGateway()
  const before = seriesOf(await m.render())
  const held = m.route('shared', 'users')
  m.forgetRoute('shared')
  m.forgetRoute('users-api')
  m.forgetRoute('no-such-route')
  held.request('GET', 200, 0.01)
  held.readToPrimary('sticky')
  held.canaryRollback()
  held.mirror('sent')
  const after = seriesOf(await m.render())
  t.same(after, Object.fromEntries(Object.entries(before).filter(([k]) => !k.includes('route="shared"') && !k.includes('route="users-api"'))))
  t.ok(after['switchyard_retries_total{pool="users",reason="reset"}'], 'pool series stay')
})

t.test('forgetTarget removes that target\'s attempts only', async (t) => {
  const m = busyGateway()
  const before = seriesOf(await m.render())
  const held = m.target('users', 'http://users:2')
  m.forgetTarget('users', 'http://users:2')
  m.forgetTarget('users', 'http://nowhere:9')
  m.forgetTarget('no-such-pool', 'http://users:2')
  held.attempt('timeout')
  held.attempt('reset')
  t.same(seriesOf(await m.render()), Object.fromEntries(Object.entries(before).filter(([k]) => !k.includes('target="http://users:2"'))))
})

t.test('forgetRoutePool removes one route × pool pair only', async (t) => {
  const m = busyGateway()
  const before = seriesOf(await m.render())
  const held = m.route('shared', 'users')
  t.same(m.routePools('shared').sort(), ['orders', 'users'])
  m.forgetRoutePool('shared', 'users')
  m.forgetRoutePool('shared', 'no-such-pool')
  m.forgetRoutePool('no-such-route', 'users')
  held.request('GET', 200, 0.01)
  t.same(m.routePools('shared'), ['orders'])
  const after = seriesOf(await m.render())
  // the route's other pool, the pool's other routes and the pool's own series all stay, values included
  t.same(after, Object.fromEntries(Object.entries(before).filter(([k]) => !(k.includes('route="shared"') && k.includes('pool="users"')))))
  t.not(m.route('shared', 'users'), held, 'a new binding once the route sends there again')
})

// A route's first request may still be in flight when a reload removes the route: its binding has recorded nothing
// yet, so its duration histogram is not bound. Finishing that request must not bind it then, or the removed route's
// latency series comes back (without its requests_total) and is exported until the process restarts.
t.test('a binding forgotten before its first request binds no duration series when that request finishes', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const first = m.route('gone', 'p')
  m.route('kept', 'p').request('GET', 200, 0.01)
  m.forgetRoute('gone')
  first.request('GET', 200, 0.01)
  t.same(keysWith(seriesOf(await m.render()), 'gone'), [], 'nothing of the removed route is exported')
})
