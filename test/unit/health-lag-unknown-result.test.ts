// The result of a probe whose JSON lag body broke off after its status (health/active.ts lastResult()) passes on its
// status and says the lag is unknown (lagUnknown), which is not the same as a whole answer that reports no lag:
// ProbeResult documents the difference for whoever reads the checker's results.
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('a lag body cut short: the probe passes with lagUnknown; a whole body without a lag has none', async (t) => {
  const state = { cut: true }
  const { url } = await serveOnLoopback(t, (_req, res) => {
    const body = JSON.stringify(state.cut ? { replicationLagMs: 5 } : { ready: true })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    if (!state.cut) return void res.end(body)
    res.write(body.slice(0, 5), () => res.destroy()) // the head and part of the body, then the connection breaks
  })
  for (const cut of [true, false]) {
    state.cut = cut
    const clock = new ManualClock()
    const runtime = new PoolRuntime('p', poolConfig({ targets: [url], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 } }), { clock, random: () => 0 })
    t.teardown(() => runtime.close())
    void runtime.start()
    const target = runtime.pool.targets[0]!
    clock.advance(0)
    await waitFor(() => runtime.health!.lastResult(target) !== undefined)
    const result = runtime.health!.lastResult(target)!
    t.same(result, cut ? { ok: true, status: 200, lagUnknown: true, at: clock.now() } : { ok: true, status: 200, at: clock.now() }, cut ? 'cut short: lag unknown' : 'whole, no lag: nothing said of lag')
  }
})
