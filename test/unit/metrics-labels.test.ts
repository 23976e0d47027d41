import t from 'tap'
import { ATTEMPT_OUTCOMES, KNOWN_METHODS, type AttemptOutcome } from '../../src/metrics/catalogue.ts'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { classifyError, type FailureKind } from '../../src/resilience/classify.ts'
import { parseExposition, seriesOf } from './metrics-exposition.ts'

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
