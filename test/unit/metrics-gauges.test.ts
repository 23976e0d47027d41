import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import type { PoolSnapshot } from '../../src/metrics/snapshot.ts'
import { seriesOf } from './metrics-exposition.ts'

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
