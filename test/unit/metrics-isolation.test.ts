import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { parseExposition, seriesOf } from './metrics-exposition.ts'

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
