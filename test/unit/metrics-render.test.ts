import t from 'tap'
import { CATALOGUE } from '../../src/metrics/catalogue.ts'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { key, parseExposition, seriesOf } from './metrics-exposition.ts'

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
  // a fresh gateway exports only the reload counters at 0
  t.same(samples.map((s) => [s.name, s.labels, s.value]), [
    ['switchyard_config_reloads_total', { result: 'success' }, 0],
    ['switchyard_config_reloads_total', { result: 'error' }, 0],
    ['switchyard_config_reloads_total', { result: 'unchanged' }, 0],
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
