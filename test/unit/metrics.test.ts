// Prometheus metrics: each subtest is one behaviour, named as its file was.
import t, { type Test } from 'tap'
import { buildGateway } from '../../src/app.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { CounterFamily } from '../../src/metrics/counter.ts'
import { HistogramFamily } from '../../src/metrics/histogram.ts'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { key, parseExposition, seriesOf } from './metrics-exposition.ts'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ATTEMPT_OUTCOMES, type AttemptOutcome, CATALOGUE, CONFIG_RELOAD_RESULTS, KNOWN_METHODS, LATENCY_BUCKETS, MIRROR_OUTCOMES, READ_TO_PRIMARY_REASONS, RETRY_REASONS } from '../../src/metrics/catalogue.ts'
import type { PoolSnapshot } from '../../src/metrics/snapshot.ts'
import { TextWriter } from '../../src/metrics/exposition.ts'
import { classifyError, type FailureKind } from '../../src/resilience/classify.ts'
import { processRegistry } from '../../src/metrics/process.ts'


t.test('metrics-bindings', async (t) => {
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
    t.same(binds, { counter: [['users'], ['users']], histogram: [] }, 'binding: the zeroed budget and skipped-ejection series only (a route binds its series at its first request)')
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
})


t.test('metrics-catalogue', async (t) => {
  const specs = Object.values(CATALOGUE)

  t.test('names and labels are valid Prometheus names, each metric declared once', async (t) => {
    const names = specs.map((s) => s.name)
    t.equal(new Set(names).size, names.length, 'unique names')
    for (const s of specs) {
      t.match(s.name, /^switchyard_[a-z_]+$/, s.name)
      for (const label of s.labelNames) t.match(label, /^[a-z][a-z_]*$/, `${s.name}: ${label}`)
      t.equal(new Set(s.labelNames).size, s.labelNames.length, `${s.name}: labels unique`)
      t.notOk((s.labelNames as readonly string[]).includes('le'), `${s.name}: le is reserved`)
      if (s.type === 'counter') t.match(s.name, /_total$/, `${s.name}: counters end in _total`)
      else t.notMatch(s.name, /_total$/, `${s.name}: only counters end in _total`)
      t.ok(s.help.length > 0 && !s.help.includes('\n'), `${s.name}: one-line help`)
    }
  })

  t.test('latency buckets ascend and span 1 ms to 10 s', async (t) => {
    t.ok(LATENCY_BUCKETS.every((b, i) => i === 0 || b > LATENCY_BUCKETS[i - 1]!))
    t.same([LATENCY_BUCKETS[0], LATENCY_BUCKETS.at(-1)], [0.001, 10])
    t.equal(CATALOGUE.requestDuration.buckets, LATENCY_BUCKETS)
  })

  t.test('bounded label value lists are non-empty and free of duplicates', async (t) => {
    for (const list of [ATTEMPT_OUTCOMES, RETRY_REASONS, CONFIG_RELOAD_RESULTS, READ_TO_PRIMARY_REASONS, MIRROR_OUTCOMES, KNOWN_METHODS]) {
      t.ok(list.length > 0)
      t.equal(new Set(list).size, list.length, list.join(','))
    }
    // a retry follows a failed attempt: every reason is a failed outcome
    for (const reason of RETRY_REASONS) t.ok((ATTEMPT_OUTCOMES as readonly string[]).includes(reason), reason)
  })

  t.test('no source file outside the catalogue spells a metric name', async (t) => {
    const root = join(import.meta.dirname, '../../src')
    const offenders: string[] = []
    for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file === join('metrics', 'catalogue.ts')) continue
      const text = readFileSync(join(root, file), 'utf8')
      if (/['"`]switchyard_[a-z_]+/.test(text)) offenders.push(file)
    }
    t.same(offenders, [])
  })
})


t.test('metrics-config', async (t) => {
  const configSeries = async (m: GatewayMetrics): Promise<Record<string, number>> =>
    Object.fromEntries(Object.entries(seriesOf(await m.render())).filter(([k]) => k.startsWith('switchyard_config_')))

  t.test('config_info holds only the latest hash; reloads count by result from 0', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    t.same(await configSeries(m), {
      'switchyard_config_reloads_total{result="success"}': 0,
      'switchyard_config_reloads_total{result="error"}': 0,
      'switchyard_config_reloads_total{result="unchanged"}': 0,
      'switchyard_config_last_reload_successful': 1,
    }, 'no config_info before a config is set')

    m.setConfigInfo(() => 'h1')
    m.configReload('unchanged')
    m.configReload('error')
    m.setConfigInfo(() => 'h2')
    m.configReload('success')
    m.setConfigInfo(() => 'h3')
    m.configReload('success')
    t.same(await configSeries(m), {
      'switchyard_config_reloads_total{result="success"}': 2,
      'switchyard_config_reloads_total{result="error"}': 1,
      'switchyard_config_reloads_total{result="unchanged"}': 1,
      'switchyard_config_last_reload_successful': 1,
      'switchyard_config_info{hash="h3"}': 1,
    })

    m.setConfigInfo(() => 'h3')
    t.same(Object.keys(await configSeries(m)).filter((k) => k.startsWith('switchyard_config_info')), ['switchyard_config_info{hash="h3"}'], 'setting the same hash again keeps one series')
  })
})


t.test('metrics-forget', async (t) => {
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
    // changed: a forgotten (route, pool) pair is shown once more, with its final counts (what it counted since the last scrape), then goes
    t.ok(keysWith(seriesOf(await m.render()), 'users').every((k) => k.startsWith('switchyard_request')), 'only its routes\' series, once more')
    const after = seriesOf(await m.render())
    t.same(keysWith(after, 'users'), [])
    // every other series is untouched, values included: the orders pool, and the users route's route-only series
    const kept = Object.fromEntries(Object.entries(before).filter(([k]) => !k.includes('pool="users"')))
    t.same(after, kept)
    t.ok(keysWith(after, 'users-api').length > 0, 'the route still exists: its reads-to-primary, rollbacks and mirrors stay')
  })

  t.test('bindings held from before forgetPool count nowhere (route pairs once their final counts were shown); a new binding starts from zero', async (t) => {
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
    oldPool.ejectionSkipped()
    oldTarget.attempt('success')
    oldTarget.attempt('client-abort')
    // changed: a forgotten (route, pool) pair is shown once more, with its final counts (what it counted since the last scrape), then goes: the held route binding's late requests are in it
    const last = seriesOf(await m.render())
    t.same(keysWith(last, 'users').filter((k) => !k.startsWith('switchyard_request')), [], 'no pool series came back')
    t.equal(last['switchyard_requests_total{code="500",method="DELETE",pool="users",route="users-api"}'], 1, 'the (route, pool) pair shown once more')
    t.same(keysWith(seriesOf(await m.render()), 'users'), [], 'then gone')

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
      'switchyard_outlier_ejections_skipped_total{pool="users"}': 0,
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
    // changed: a forgotten (route, pool) pair is shown once more, with its final counts (what it counted since the last scrape), then goes; the route-only series go at once
    const last = seriesOf(await m.render())
    t.ok(Object.keys(last).filter((k) => k.includes('route="shared"') || k.includes('route="users-api"')).every((k) => k.startsWith('switchyard_request')), 'only (route, pool) series, once more')
    t.equal(last['switchyard_requests_total{code="200",method="GET",pool="users",route="shared"}'], 2, 'the held binding\'s late request in it')
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
    // changed: a forgotten (route, pool) pair is shown once more, with its final counts (what it counted since the last scrape), then goes
    t.equal(seriesOf(await m.render())['switchyard_requests_total{code="200",method="GET",pool="users",route="shared"}'], 2, 'shown once more')
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
    // changed: a forgotten (route, pool) pair is shown once more, with its final counts (what it counted since the last scrape), then goes
    t.equal(seriesOf(await m.render())['switchyard_request_duration_seconds_count{pool="p",route="gone"}'], 1, 'shown once, with that request')
    t.same(keysWith(seriesOf(await m.render()), 'gone'), [], 'then nothing of the removed route is exported')
  })
})


t.test('metrics-gauges', async (t) => {
  const STATE = ['switchyard_circuit_state', 'switchyard_target_up', 'switchyard_target_in_flight']

  async function stateSeries (m: GatewayMetrics): Promise<Record<string, number>> {
    const all = seriesOf(await m.render())
    return Object.fromEntries(Object.entries(all).filter(([k]) => STATE.some((name) => k.startsWith(`${name}{`))))
  }

  t.test('state gauges are read from the source at each render; removed pools and targets vanish', async (t) => {
    let pools: PoolSnapshot[] = [
      { name: 'users', circuit: 'closed', tier: 'primary', hold: 'none', targets: [{ id: 'a', up: true, inFlight: 2 }, { id: 'b', up: true, inFlight: 0 }] },
      { name: 'orders', circuit: 'open', tier: 'primary', hold: 'none', targets: [{ id: 'c', up: false, inFlight: 1 }] },
    ]
    let reads = 0
    const m = new GatewayMetrics({ defaultMetrics: false, source: { pools: () => { reads++; return pools } } })
    t.equal(reads, 0, 'nothing is read before a scrape')
    t.same(await stateSeries(m), {
      'switchyard_circuit_state{pool="users"}': 0,
      'switchyard_circuit_state{pool="orders"}': 2,
      'switchyard_target_up{pool="users",target="a"}': 1,
      'switchyard_target_up{pool="users",target="b"}': 1,
      'switchyard_target_up{pool="orders",target="c"}': 0,
      'switchyard_target_in_flight{pool="users",target="a"}': 2,
      'switchyard_target_in_flight{pool="users",target="b"}': 0,
      'switchyard_target_in_flight{pool="orders",target="c"}': 1,
    })
    t.equal(reads, 1, 'one read of the source per render')

    // a reload removed target b and the orders pool; users' breaker is probing
    pools = [{ name: 'users', circuit: 'half-open', tier: 'primary', hold: 'none', targets: [{ id: 'a', up: false, inFlight: 7 }] }]
    t.same(await stateSeries(m), {
      'switchyard_circuit_state{pool="users"}': 1,
      'switchyard_target_up{pool="users",target="a"}': 0,
      'switchyard_target_in_flight{pool="users",target="a"}': 7,
    })

    pools = []
    t.same(await stateSeries(m), {})
  })

  t.test('setSource replaces the source; without one no state gauge is exported', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    t.same(await stateSeries(m), {})
    m.setSource({ pools: () => [{ name: 'p', circuit: 'closed', tier: 'primary', hold: 'none', targets: [] }] })
    t.same(await stateSeries(m), { 'switchyard_circuit_state{pool="p"}': 0 })
    m.setSource({ pools: () => [{ name: 'q', circuit: 'open', tier: 'primary', hold: 'none', targets: [{ id: 't', up: true, inFlight: 0 }] }] })
    t.same(await stateSeries(m), {
      'switchyard_circuit_state{pool="q"}': 2,
      'switchyard_target_up{pool="q",target="t"}': 1,
      'switchyard_target_in_flight{pool="q",target="t"}': 0,
    })
    m.setSource(undefined)
    t.same(await stateSeries(m), {})
  })

  t.test('targets may be any iterable, read once per render (e.g. a generator)', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    m.setSource({
      * pools () {
        yield { name: 'p', circuit: 'closed' as const, tier: 'primary', hold: 'none', targets: (function * () { yield { id: 'x', up: true, inFlight: 4 } })() }
      },
    })
    t.same(await stateSeries(m), {
      'switchyard_circuit_state{pool="p"}': 0,
      'switchyard_target_up{pool="p",target="x"}': 1,
      'switchyard_target_in_flight{pool="p",target="x"}': 4,
    })
    t.same(await stateSeries(m), await stateSeries(m), 'a fresh generator each render')
  })

  // The gateway-wide tunnels gauge is read from the source like the others: a source without it (or none) exports none,
  // rather than the last count read, which would show tunnels open that nobody reports any more.
  t.test('the tunnels gauge is read at each render and vanishes with the source that reported it', async (t) => {
    const tunnels = (all: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('switchyard_websocket_tunnels_open')))
    const m = new GatewayMetrics({ defaultMetrics: false, source: { pools: () => [], tunnels: () => 3 } })
    t.same(tunnels(seriesOf(await m.render())), { switchyard_websocket_tunnels_open: 3 })
    m.setSource({ pools: () => [] })
    t.same(tunnels(seriesOf(await m.render())), {}, 'a source without tunnels')
    m.setSource(undefined)
    t.same(tunnels(seriesOf(await m.render())), {}, 'no source')
  })

  // log_dropped_bytes_total is a counter kept by the log's writer: each scrape exports its running total as it is,
  // so scraping more often must not make it grow (rate() would report drops that never happened).
  t.test('log bytes dropped: each render exports the writer\'s total, not a sum over scrapes', async (t) => {
    let dropped = 100
    const m = new GatewayMetrics({ defaultMetrics: false, source: { pools: () => [], logDroppedBytes: () => dropped } })
    t.equal(seriesOf(await m.render()).switchyard_log_dropped_bytes_total, 100)
    t.equal(seriesOf(await m.render()).switchyard_log_dropped_bytes_total, 100, 'a second scrape, nothing more dropped')
    dropped = 130
    t.equal(seriesOf(await m.render()).switchyard_log_dropped_bytes_total, 130)
  })
})


t.test('metrics-histogram', async (t) => {
  const spec = { name: 'h_seconds', help: 'test', type: 'histogram', labelNames: ['route'], buckets: [1, 2, 5] } as const

  /** Renders one series after the observations: cumulative count per le, then sum and count. */
  function observed (values: number[]): { buckets: Record<string, number>; sum: number; count: number } | undefined {
    const family = new HistogramFamily(spec)
    const series = family.series(['r'])
    for (const v of values) series.observe(v)
    const out = new TextWriter()
    family.render(out)
    const { samples } = parseExposition(out.take().toString())
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
    t.same(out.take().toString().split('\n'), [
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
    const lines = out.take().toString().split('\n')
    t.ok(lines.includes('h_seconds_sum{route="r"} +Inf'), 'the sum line')
    const writer = new TextWriter()
    writer.sample('g ', -Infinity)
    writer.sample('g ', NaN)
    t.equal(writer.take().toString(), 'g -Inf\ng NaN\n')
  })
})


t.test('metrics-isolation', async (t) => {
  t.test('two GatewayMetrics instances share no series', async (t) => {
    const a = new GatewayMetrics({ defaultMetrics: false, source: { pools: () => [{ name: 'p', circuit: 'open', tier: 'primary', hold: 'none', targets: [] }] } })
    const b = new GatewayMetrics({ defaultMetrics: false })
    a.route('api', 'p').request('GET', 200, 0.1)
    a.pool('p').retry('reset')
    a.target('p', 't').attempt('success')
    a.configReload('error')
    a.setConfigInfo(() => 'aaa')
    b.route('api', 'p').request('GET', 500, 0.1)
    b.setConfigInfo(() => 'bbb')

    const sa = seriesOf(await a.render())
    const sb = seriesOf(await b.render())
    t.equal(sa['switchyard_requests_total{code="200",method="GET",pool="p",route="api"}'], 1)
    t.equal(sa['switchyard_requests_total{code="500",method="GET",pool="p",route="api"}'], undefined)
    t.equal(sb['switchyard_requests_total{code="500",method="GET",pool="p",route="api"}'], 1)
    t.equal(sb['switchyard_requests_total{code="200",method="GET",pool="p",route="api"}'], undefined)
    t.equal(sb['switchyard_retries_total{pool="p",reason="reset"}'], undefined)
    t.equal(sb['switchyard_upstream_attempts_total{outcome="success",pool="p",target="t"}'], undefined)
    t.equal(sb['switchyard_circuit_state{pool="p"}'], undefined)
    t.equal(sa['switchyard_config_reloads_total{result="error"}'], 1)
    t.equal(sb['switchyard_config_reloads_total{result="error"}'], 0)
    t.same(Object.keys(sa).filter((k) => k.startsWith('switchyard_config_info')), ['switchyard_config_info{hash="aaa"}'])
    t.same(Object.keys(sb).filter((k) => k.startsWith('switchyard_config_info')), ['switchyard_config_info{hash="bbb"}'])
    // the same binding key in two instances is two objects
    t.not(a.route('api', 'p'), b.route('api', 'p'))
  })

  t.test('Node\'s default process metrics are appended unless turned off, in any number of instances', async (t) => {
    const processFamilies = (text: string): string[] => [...parseExposition(text).types.keys()].filter((n) => !n.startsWith('switchyard_'))
    const withDefaults = [new GatewayMetrics(), new GatewayMetrics({ defaultMetrics: true })]
    for (const m of withDefaults) {
      const families = processFamilies(await m.render())
      for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds']) {
        t.ok(families.includes(name), name)
      }
    }
    t.same(processFamilies(await new GatewayMetrics({ defaultMetrics: false }).render()), [])
    t.equal(new GatewayMetrics().contentType, 'text/plain; version=0.0.4; charset=utf-8')
  })
})


t.test('metrics-labels', async (t) => {
  t.test('methods outside the known list count as _OTHER; code is the numeric status', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    const api = m.route('api', 'p')
    for (const method of KNOWN_METHODS) api.request(method, 200, 0.01)
    // each a distinct method a client could send: none may mint a series of its own
    for (let i = 0; i < 50; i++) api.request(`X-CUSTOM-${i}`, 200, 0.01)
    api.request('PROPFIND', 207, 0.01)
    api.request('get', 200, 0.01)
    const requests = Object.entries(seriesOf(await m.render())).filter(([k]) => k.startsWith('switchyard_requests_total'))
    t.same(Object.fromEntries(requests), {
      ...Object.fromEntries(KNOWN_METHODS.map((method) => [`switchyard_requests_total{code="200",method="${method}",pool="p",route="api"}`, 1])),
      'switchyard_requests_total{code="200",method="_OTHER",pool="p",route="api"}': 51,
      'switchyard_requests_total{code="207",method="_OTHER",pool="p",route="api"}': 1,
    })
  })

  t.test('label values are escaped in the exposition and read back unchanged', async (t) => {
    const awkward = ['say "hi"', 'back\\slash', 'two\nlines', 'tail\\', 'ünïcode/ok', '{a="b"},x']
    const m = new GatewayMetrics({ defaultMetrics: false, source: { pools: () => awkward.map((name) => ({ name, circuit: 'closed' as const, tier: 'primary', hold: 'none', targets: [{ id: name, up: true, inFlight: 1 }] })) } })
    for (const value of awkward) {
      m.route(value, value).request('GET', 200, 0.01)
      m.target(value, value).attempt('success')
    }
    m.setConfigInfo(() => awkward[0]!)
    const samples = parseExposition(await m.render()).samples
    for (const value of awkward) {
      t.ok(samples.some((s) => s.name === 'switchyard_requests_total' && s.labels.route === value && s.labels.pool === value), `request: ${JSON.stringify(value)}`)
      t.ok(samples.some((s) => s.name === 'switchyard_request_duration_seconds_bucket' && s.labels.route === value && s.labels.le === '+Inf'), `histogram: ${JSON.stringify(value)}`)
      t.ok(samples.some((s) => s.name === 'switchyard_target_up' && s.labels.pool === value && s.labels.target === value), `gauge: ${JSON.stringify(value)}`)
    }
    t.ok(samples.some((s) => s.name === 'switchyard_config_info' && s.labels.hash === awkward[0]))
    // forgetting finds the escaped series too
    for (const value of awkward) m.forgetPool(value)
    // changed: a forgotten (route, pool) pair is shown once more, with its final counts (what it counted since the last scrape), then goes
    await m.render()
    t.same(parseExposition(await m.render()).samples.filter((s) => s.name.startsWith('switchyard_request')), [])
  })

  t.test('every failure kind the proxy classifies is an attempt outcome', async (t) => {
    // compile-time: FailureKind must be assignable to AttemptOutcome
    const asOutcome = (kind: FailureKind): AttemptOutcome => kind
    const errors = [{ code: 'ECONNREFUSED' }, { code: 'UND_ERR_HEADERS_TIMEOUT' }, { code: 'ECONNRESET' }, { code: 'HPE_INVALID_CONSTANT' }, { code: 'UND_ERR_INVALID_ARG' }, {}]
    const kinds = errors.map((e) => asOutcome(classifyError(e)))
    t.same(kinds, ['connect-failure', 'timeout', 'reset', 'bad-response', 'bad-request', 'reset'])
    for (const kind of [...kinds, 'client-abort', 'success', 'status']) t.ok((ATTEMPT_OUTCOMES as readonly string[]).includes(kind), kind)
  })

  // The methods that keep their own label are the nine of RFC 9110 and RFC 5789, as OpenTelemetry's
  // http.request.method lists them: dashboards and alerts select method="PATCH" etc., so none may fall into '_OTHER'.
  t.test('each of the nine standard methods (PATCH included) is counted under its own name', async (t) => {
    const standard = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']
    const m = new GatewayMetrics({ defaultMetrics: false })
    for (const method of standard) m.route('api', 'p').request(method, 200, 0.01)
    const methods = parseExposition(await m.render()).samples
      .filter((s) => s.name === 'switchyard_requests_total').map((s) => s.labels.method).sort()
    t.same(methods, standard)
  })
})

// Node's default process metrics are collected once per process: collectDefaultMetrics starts an event-loop delay
// monitor and a GC observer that cannot be stopped, so a registry made per scrape (or per gateway) would add a set
// of them at every scrape, a leak that grows with the scrape rate and reports each GC to every set.
t.test('metrics-process-registry-once', async (t) => {
  t.test('every call hands out the same registry', async (t) => {
    const first = await processRegistry()
    const second = await processRegistry()
    t.equal(second, first, 'one registry for the process')
    t.match(await first.metrics(), /^process_cpu_user_seconds_total /m, 'holding the default process metrics')
  })
})


t.test('metrics-render', async (t) => {
  const LE = ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']

  function buckets (route: string, pool: string, cumulative: number[]): Record<string, number> {
    return Object.fromEntries(LE.map((le, i) => [key('switchyard_request_duration_seconds_bucket', { route, pool, le }), cumulative[i]!]))
  }

  t.test('a scripted sequence of calls renders exactly the expected series and values', async (t) => {
    const m = new GatewayMetrics({
      defaultMetrics: false,
      source: {
        pools: () => [{
          name: 'users',
          circuit: 'half-open', tier: 'primary', hold: 'none',
          targets: [{ id: 'http://a:1', up: true, inFlight: 3 }, { id: 'http://b:2', up: false, inFlight: 0 }],
        }],
      },
    })
    const api = m.route('api', 'users')
    // durations are binary fractions, so the sum is exact
    api.request('GET', 200, 0.00390625) // le 0.005
    api.request('GET', 200, 0.015625) // le 0.025
    api.request('GET', 404, 0.0009765625) // le 0.001
    api.request('POST', 201, 3) // le 5
    api.request('GET', 200, 20) // above every bound: +Inf only
    m.route('api', 'users-canary').request('GET', 503, 0.25) // exactly on a bound: counted in it
    api.readToPrimary('sticky')
    api.readToPrimary('sticky')
    api.readToPrimary('fallback')
    api.canaryRollback()
    api.mirror('sent')
    api.mirror('skipped_body')
    const users = m.pool('users')
    users.retry('reset')
    users.retry('reset')
    users.retry('status')
    users.budgetExhausted()
    users.ejectionSkipped()
    users.ejectionSkipped()
    m.pool('users-canary')
    const a = m.target('users', 'http://a:1')
    for (let i = 0; i < 3; i++) a.attempt('success')
    a.attempt('reset')
    m.target('users', 'http://b:2').attempt('connect-failure')
    m.configReload('success')
    m.configReload('error')
    m.setConfigInfo(() => 'abc123')

    const text = await m.render()
    t.same(seriesOf(text), {
      [key('switchyard_requests_total', { route: 'api', pool: 'users', method: 'GET', code: '200' })]: 3,
      [key('switchyard_requests_total', { route: 'api', pool: 'users', method: 'GET', code: '404' })]: 1,
      [key('switchyard_requests_total', { route: 'api', pool: 'users', method: 'POST', code: '201' })]: 1,
      [key('switchyard_requests_total', { route: 'api', pool: 'users-canary', method: 'GET', code: '503' })]: 1,
      ...buckets('api', 'users', [1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 4, 4, 5]),
      [key('switchyard_request_duration_seconds_sum', { route: 'api', pool: 'users' })]: 23.0205078125,
      [key('switchyard_request_duration_seconds_count', { route: 'api', pool: 'users' })]: 5,
      ...buckets('api', 'users-canary', [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]),
      [key('switchyard_request_duration_seconds_sum', { route: 'api', pool: 'users-canary' })]: 0.25,
      [key('switchyard_request_duration_seconds_count', { route: 'api', pool: 'users-canary' })]: 1,
      [key('switchyard_upstream_attempts_total', { pool: 'users', target: 'http://a:1', outcome: 'success' })]: 3,
      [key('switchyard_upstream_attempts_total', { pool: 'users', target: 'http://a:1', outcome: 'reset' })]: 1,
      [key('switchyard_upstream_attempts_total', { pool: 'users', target: 'http://b:2', outcome: 'connect-failure' })]: 1,
      [key('switchyard_retries_total', { pool: 'users', reason: 'reset' })]: 2,
      [key('switchyard_retries_total', { pool: 'users', reason: 'status' })]: 1,
      [key('switchyard_retry_budget_exhausted_total', { pool: 'users' })]: 1,
      [key('switchyard_retry_budget_exhausted_total', { pool: 'users-canary' })]: 0,
      [key('switchyard_outlier_ejections_skipped_total', { pool: 'users' })]: 2,
      [key('switchyard_outlier_ejections_skipped_total', { pool: 'users-canary' })]: 0,
      [key('switchyard_circuit_state', { pool: 'users' })]: 1,
      [key('switchyard_pool_active_tier', { pool: 'users' })]: 0,
      [key('switchyard_pool_hold', { pool: 'users' })]: 0,
      [key('switchyard_target_up', { pool: 'users', target: 'http://a:1' })]: 1,
      [key('switchyard_target_up', { pool: 'users', target: 'http://b:2' })]: 0,
      [key('switchyard_target_in_flight', { pool: 'users', target: 'http://a:1' })]: 3,
      [key('switchyard_target_in_flight', { pool: 'users', target: 'http://b:2' })]: 0,
      [key('switchyard_config_reloads_total', { result: 'success' })]: 1,
      [key('switchyard_config_reloads_total', { result: 'error' })]: 1,
      [key('switchyard_config_reloads_total', { result: 'unchanged' })]: 0,
      [key('switchyard_config_last_reload_successful', {})]: 0,
      [key('switchyard_config_info', { hash: 'abc123' })]: 1,
      [key('switchyard_reads_to_primary_total', { route: 'api', reason: 'sticky' })]: 2,
      [key('switchyard_reads_to_primary_total', { route: 'api', reason: 'fallback' })]: 1,
      [key('switchyard_canary_rollbacks_total', { route: 'api' })]: 1,
      [key('switchyard_mirror_requests_total', { route: 'api', outcome: 'sent' })]: 1,
      [key('switchyard_mirror_requests_total', { route: 'api', outcome: 'skipped_body' })]: 1,
    })
  })

  t.test('every catalogue metric is declared with its type and help, each once, even before any sample', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    const { types, helps, samples } = parseExposition(await m.render())
    t.same(Object.fromEntries(types), Object.fromEntries(Object.values(CATALOGUE).map((s) => [s.name, s.type])))
    t.same(Object.fromEntries(helps), Object.fromEntries(Object.values(CATALOGUE).map((s) => [s.name, s.help])))
    // a fresh gateway exports only the reload counters at 0, and its config as accepted
    t.same(samples.map((s) => [s.name, s.labels, s.value]), [
      ['switchyard_config_reloads_total', { result: 'success' }, 0],
      ['switchyard_config_reloads_total', { result: 'error' }, 0],
      ['switchyard_config_reloads_total', { result: 'unchanged' }, 0],
      ['switchyard_config_last_reload_successful', {}, 1],
    ])
  })

  t.test('samples of one family are listed together, after its TYPE line', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false, source: { pools: () => [{ name: 'p', circuit: 'closed', tier: 'primary', hold: 'none', targets: [{ id: 't', up: true, inFlight: 0 }] }] } })
    m.route('r', 'p').request('GET', 200, 0.1)
    m.target('p', 't').attempt('success')
    m.pool('p').retry('timeout')
    const families = Object.values(CATALOGUE).map((s) => s.name)
    let current = ''
    const seen = new Set<string>()
    for (const line of (await m.render()).split('\n')) {
      if (line.startsWith('# TYPE ')) {
        current = line.split(' ')[2]!
        t.notOk(seen.has(current), `${current} declared once`)
        seen.add(current)
      } else if (line !== '' && !line.startsWith('#')) {
        const name = line.split(/[{ ]/)[0]!
        t.ok(name === current || name.startsWith(`${current}_`), `${name} under ${current}`)
      }
    }
    t.same([...seen], families)
  })

  // The exposition writer grows its buffer to fit whatever one piece of text needs, not just to twice its size: a
  // label value longer than that (a route id built from a long path, host and headers) must come out whole, and so must
  // every line after it. A buffer grown too little truncates the write silently and the scrape is corrupt.
  t.test('a label value longer than twice the writer\'s buffer is exported whole, and the lines after it too', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    const route = `/${'a'.repeat(200_000)}`
    m.route(route, 'p').request('GET', 200, 0.01)
    m.pool('p').budgetExhausted()
    const { samples } = parseExposition(await m.render())
    const requests = samples.filter((s) => s.name === 'switchyard_requests_total')
    t.equal(requests.length, 1)
    t.equal(requests[0]!.labels.route, route)
    t.equal(requests[0]!.value, 1)
    t.equal(samples.find((s) => s.name === 'switchyard_retry_budget_exhausted_total')?.value, 1, 'a later family is intact')
  })
})

// A route a reload removed (forgetRoute) and a later reload brings back under the same id is counted again: its
// requests and route-only series start afresh from the first request after it returns. The bindings handed out
// before the removal count nowhere once a render has shown their final counts (so requests still in flight cannot
// bring the old series back for good), and if route() kept handing those out, a route taken out and put back would
// go dark on every dashboard for the life of the process.
t.test('metrics-route-readded-counts', async (t) => {
  t.test('after forgetRoute, route() binds fresh series that count', async (t) => {
    const m = new GatewayMetrics({ defaultMetrics: false })
    const old = m.route('api', 'p')
    old.request('GET', 200, 0.01)
    m.forgetRoute('api')
    t.strictSame(m.routePools('api'), [], 'the route counts under no pool once forgotten')
    old.request('GET', 200, 0.01)
    // changed: a forgotten (route, pool) pair is shown once more, with its final counts (what it counted since the last scrape), then goes
    t.equal(seriesOf(await m.render())['switchyard_requests_total{code="200",method="GET",pool="p",route="api"}'], 2, 'shown once more, with the held binding\'s late request')
    old.request('GET', 200, 0.01)
    t.same(Object.keys(seriesOf(await m.render())).filter((k) => k.includes('route="api"')), [], 'then a held binding counts nowhere')

    const fresh = m.route('api', 'p')
    t.not(fresh, old, 'a new binding')
    fresh.request('GET', 200, 0.01)
    const series = seriesOf(await m.render())
    const requests = Object.entries(series).filter(([k]) => k.startsWith('switchyard_requests_total') && k.includes('route="api"'))
    t.equal(requests.length, 1, 'one request series for the route')
    t.equal(requests[0]?.[1], 1, 'counting the request after it came back, only')
    t.strictSame(m.routePools('api'), ['p'])
  })
})
