// A lag body cut short (the answer's status and headers came, then the body stalled past timeoutMs or the
// connection broke) says nothing about lag: the probe passes on its status, and a lagging replica stays lagging
// until a probe whose body arrives whole reports it caught up.
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { poolConfig } from './config-fixtures.ts'

const INTERVAL = 10_000
const TIMEOUT = 5_000

t.test('a lagging replica stays lagging through probes whose lag body stalls or breaks', async (t) => {
  const state = { mode: 'whole' as 'whole' | 'stall' | 'reset', lagMs: 5000, probes: 0 }
  const { url } = await serveOnLoopback(t, (_req, res) => {
    state.probes++
    const body = JSON.stringify({ replicationLagMs: state.lagMs })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    if (state.mode === 'whole') return void res.end(body)
    res.write(body.slice(0, 5))
    if (state.mode === 'reset') setTimeout(() => res.destroy(), 20)
  })
  const clock = new ManualClock()
  const rt = new PoolRuntime('p', poolConfig({
    targets: [url],
    healthCheck: { intervalMs: INTERVAL, timeoutMs: TIMEOUT, jitter: 0, unhealthyThreshold: 1 },
  }), { clock, random: () => 0 })
  t.teardown(() => rt.close())
  const health = rt.health!
  health.setMaxLagMs(1000)
  void rt.start()
  const target = rt.pool.targets[0]!
  const nextResult = async (advance: () => void | Promise<void>): Promise<void> => {
    const before = health.lastResult(target)
    await advance()
    await waitFor(() => health.lastResult(target) !== before)
  }

  await nextResult(() => clock.advance(0))
  t.equal(rt.pool.state(target), 'lagging', 'a whole body reports 5000 ms')

  state.mode = 'stall'
  await nextResult(async () => {
    clock.advance(INTERVAL)
    await waitFor(() => state.probes === 2)
    clock.advance(TIMEOUT)
  })
  t.equal(health.lastResult(target)!.ok, true, 'the status arrived in time: the probe passes')
  t.equal(rt.pool.state(target), 'lagging', 'a body that stalled past timeoutMs reports no lag')

  state.mode = 'reset'
  await nextResult(() => clock.advance(INTERVAL))
  t.equal(health.lastResult(target)!.ok, true)
  t.equal(rt.pool.state(target), 'lagging', 'a body the connection broke off reports no lag')

  state.mode = 'whole'
  state.lagMs = 0
  await nextResult(() => clock.advance(INTERVAL))
  t.equal(rt.pool.state(target), 'healthy', 'a whole body reporting it caught up puts it back')
})
