// A WebSocket upgrade's access-log line names its client (clientIp), as a request's line does, and its error code is
// counted in switchyard_request_errors_total, as a request's is: a tunnel's line too, though the tunnel was counted in
// requests_total at its 101. (src/proxy/upgrade.ts log().)
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { portOf, rawHandshake } from './raw.ts'
import { wsHandshake } from './ws-tunnel.ts'

t.test("a refused handshake's line names the client, and its error is counted", async (t) => {
  const up = await expiringUpstream(t)
  up.die() // its port refuses
  const gw = await startGateway({ pools: { p: { targets: [up.url] } }, routes: [{ name: 'ws', path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const { response, socket } = await rawHandshake(portOf(gw.url), wsHandshake('/ws', 'refused-ws'))
  socket.destroy()
  t.equal(response.status, 502)
  await waitFor(() => gw.accessLogs().length === 1)
  t.match(gw.accessLogs()[0], { upgrade: true, status: 502, clientIp: '127.0.0.1', error: 'upstream_unreachable' })
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_request_errors_total', { route: 'ws', pool: 'p', error: 'upstream_unreachable' })], 1)
})

// the lines written before any admission (refused for its length, CONNECT) name the client too
t.test('an upgrade refused before admission and a CONNECT name the client', async (t) => {
  const up = await expiringUpstream(t)
  const gw = await startGateway({ server: { maxUrlBytes: 256 }, pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const long = await rawHandshake(portOf(gw.url), wsHandshake(`/ws/${'x'.repeat(300)}`, 'long-ws'))
  long.socket.destroy()
  t.equal(long.response.status, 414)
  const connect = await rawHandshake(portOf(gw.url), 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  connect.socket.destroy()
  t.equal(connect.response.status, 501)
  await waitFor(() => gw.accessLogs().length === 2)
  t.same(gw.accessLogs().map((l) => [l.status, l.clientIp]).sort(), [[414, '127.0.0.1'], [501, '127.0.0.1']])
})
