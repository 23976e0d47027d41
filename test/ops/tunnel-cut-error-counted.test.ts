// An open WebSocket tunnel that shutdown.timeoutMs cuts is logged with its 101 and error: shutdown_cut, and that error
// is counted in switchyard_request_errors_total{route,pool,error}, as every routed line's error code is, although the
// tunnel itself was counted in requests_total at its 101 (src/proxy/upgrade.ts log(): "a tunnel's line too (counted
// at its 101): every line with an error code is counted by it"). Otherwise the counter and the access log disagree
// on the cuts a shutdown made. The gateway runs on a manual clock: the timeout ends when the test says.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { portOf } from '../proxy/raw.ts'
import { openTunnel } from '../proxy/ws-tunnel.ts'

const TIMEOUT_MS = 1000

t.test("a tunnel the shutdown cuts: its line's shutdown_cut is counted", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
    pools: { p: { targets: [u.url] } },
    routes: [{ name: 'ws', path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  await openTunnel(t, portOf(gw.url), '/ws', 'open-ws')
  const done = gw.gateway.shutdown()
  clock.advance(0) // shutdown.delayMs 0
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  clock.advance(TIMEOUT_MS)
  await done
  await waitFor(() => gw.accessLogs().length === 1)
  t.match(gw.accessLogs()[0], { requestId: 'open-ws', status: 101, error: 'shutdown_cut' })
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_requests_total', { route: 'ws', pool: 'p', method: 'GET', code: '101' })], 1, 'the tunnel, at its 101')
  t.equal(series[key('switchyard_request_errors_total', { route: 'ws', pool: 'p', error: 'shutdown_cut' })], 1, 'its cut, by its error code')
})
