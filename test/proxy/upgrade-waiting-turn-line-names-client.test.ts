// A WebSocket upgrade pipelined behind a request that is never answered is never admitted: its access-log line is
// written by the upgrade handler itself, 499 when its client leaves first, 503 shutdown_cut when the shutdown cuts
// it while it waits its turn. Those lines name the client (clientIp) as every other line does (review r37c: "the
// lines of upgrades and CONNECTs never admitted name the client too"; nginx's $remote_addr is on every line). The
// address is read when the handshake arrives, since a connection that closes first may no longer name its peer.
// (src/proxy/upgrade.ts createUpgradeHandler: the afterAnswersOwed callback's two lines.) Without it the two lines
// had no clientIp while every other line had one, so a filter on the client's address lost them.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { wsHandshake } from './ws-tunnel.ts'

const TIMEOUT_MS = 1000

/** An upstream that never answers a request (it holds them until teardown), and a gateway before it. */
async function setup (t: Test, clock?: ManualClock): Promise<{ gw: TestGateway; port: number; held: () => number }> {
  const held: ServerResponse[] = []
  const upstream = createServer((_req, res) => { held.push(res) })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
    pools: { u: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`], retry: { attempts: 1 }, timeouts: { requestMs: 60_000 } } },
    routes: [{ path: '/', pool: 'u' }],
  }, { defaultMetrics: false, ...(clock !== undefined ? { clock } : {}) })
  t.teardown(() => gw.close())
  return { gw, port: Number(new URL(gw.url).port), held: () => held.length }
}

t.test('an upgrade waiting its turn whose client leaves: its 499 line names the client', async (t) => {
  const { gw, port, held } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n' + wsHandshake('/ws', 'ws-left'))
  await waitFor(() => held() === 1)
  c.socket.destroy()
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'ws-left'))
  t.match(gw.accessLogs().find((l) => l.requestId === 'ws-left'), { status: 499, upgrade: true, clientIp: '127.0.0.1' })
})

t.test('an upgrade waiting its turn cut by the shutdown: its 503 shutdown_cut line names the client', async (t) => {
  const clock = new ManualClock()
  const { gw, port, held } = await setup(t, clock)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n' + wsHandshake('/ws', 'ws-cut'))
  await waitFor(() => held() === 1)
  const done = gw.gateway.shutdown()
  clock.advance(0) // shutdown.delayMs 0
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  clock.advance(TIMEOUT_MS)
  await done
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'ws-cut'))
  t.match(gw.accessLogs().find((l) => l.requestId === 'ws-cut'), { status: 503, error: 'shutdown_cut', upgrade: true, clientIp: '127.0.0.1' })
})
