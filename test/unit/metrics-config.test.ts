import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { seriesOf } from './metrics-exposition.ts'

const configSeries = async (m: GatewayMetrics): Promise<Record<string, number>> =>
  Object.fromEntries(Object.entries(seriesOf(await m.render())).filter(([k]) => k.startsWith('switchyard_config_')))

t.test('config_info holds only the latest hash; reloads count by result from 0', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  t.same(await configSeries(m), {
    'switchyard_config_reloads_total{result="success"}': 0,
    'switchyard_config_reloads_total{result="error"}': 0,
    'switchyard_config_reloads_total{result="unchanged"}': 0,
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
    'switchyard_config_info{hash="h3"}': 1,
  })

  m.setConfigInfo(() => 'h3')
  t.same(Object.keys(await configSeries(m)).filter((k) => k.startsWith('switchyard_config_info')), ['switchyard_config_info{hash="h3"}'], 'setting the same hash again keeps one series')
})
