// switchyard_request_errors_total{route,pool,error} (review r37b) is dropped with the rest of a route × pool pair's
// series when a reload forgets the pair (forgetRoute, forgetRoutePool, forgetPool), after the first render that
// shows its final counts, and a binding held by a request counts nowhere afterwards, as the other series of a
// forgotten binding do (src/metrics/retired.ts; RouteBinding.detach). Otherwise a removed route's error counts were exported for the process's
// life, each pair and code a series (the cardinality a reload is meant to give back), and a late request brought one
// back. (The pool's outlier_ejections_skipped series is checked with its pool's in test/unit/metrics.test.ts.)
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'

const lines = async (m: GatewayMetrics, name: string): Promise<string[]> => (await m.render()).split('\n').filter((l) => l.startsWith(`${name}{`))

t.test('forgetRoute, forgetRoutePool and forgetPool drop a pair\'s request_errors series; held bindings count nowhere', async (t) => {
  for (const forget of ['route', 'routePool', 'pool'] as const) {
    const m = new GatewayMetrics({ defaultMetrics: false })
    const held = m.route('api', 'p')
    held.error('upstream_timeout')
    m.route('other', 'q').error('circuit_open')
    t.equal((await lines(m, 'switchyard_request_errors_total')).length, 2, `${forget}: both counted`)
    if (forget === 'route') m.forgetRoute('api')
    else if (forget === 'routePool') m.forgetRoutePool('api', 'p')
    else m.forgetPool('p')
    // changed: a forgotten pair is shown once more, with its final counts, then goes
    t.equal((await lines(m, 'switchyard_request_errors_total')).length, 2, `${forget}: api × p shown once more`)
    t.same((await lines(m, 'switchyard_request_errors_total')).map((l) => l.split('{')[1]!.split(',')[0]), ['route="other"'], `${forget}: api × p dropped, the other kept`)
    held.error('upstream_timeout')
    t.same((await lines(m, 'switchyard_request_errors_total')).filter((l) => l.includes('route="api"')), [], `${forget}: a held binding brings no series back`)
  }
})

