// Graceful shutdown with WebSocket tunnels open: /readyz turns 503 at once, an upgrade during shutdown.delayMs is
// still tunnelled (serving goes on while endpoints update), open tunnels keep working past the listener's close and
// the 1 s grace for idle connections, until shutdown.timeoutMs, when both sides of each are closed. In process on a
// manual clock (the timers end when the test says), then the real CLI: SIGTERM, the tunnel is cut, exit 0.
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf } from '../proxy/raw.ts'
import { openTunnel } from '../proxy/ws-tunnel.ts'

const CLOSED = 'listener closed, finishing requests in flight'

t.test('tunnels run until shutdown.timeoutMs, then both sides are closed; readiness fails at once', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const config: GatewayConfig = { shutdown: { delayMs: 2000, timeoutMs: 5000 }, pools: { ws: { targets: [u.url] } }, routes: [{ path: '/', pool: 'ws' }] }
  const gw = await startGateway(config, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const port = portOf(gw.url)
  const before = await openTunnel(t, port)

  let done = false
  const shutdown = gw.gateway.shutdown().then(() => { done = true })
  t.equal((await fetch(`${admin}/readyz`)).status, 503, '/readyz is 503 from the start of the shutdown')
  const during = await openTunnel(t, port)
  t.pass('an upgrade during shutdown.delayMs is still tunnelled')
  clock.advance(2000)
  await waitFor(() => gw.logs.some((l) => l.msg === CLOSED))
  t.match(gw.logs.find((l) => l.msg === CLOSED), { inFlight: 2 }, 'the listener-closed line counts the tunnels in flight')
  await before.roundTrip('after the listener closed')

  clock.advance(1000) // the grace for connections with no request yet is over
  await new Promise((resolve) => setImmediate(resolve))
  await before.roundTrip('after the idle grace')
  await during.roundTrip('after the idle grace')
  t.equal(done, false, 'the shutdown waits for the tunnels')
  t.equal((await fetch(`${admin}/readyz`)).status, 503)

  clock.advance(4000 - 1) // just short of timeoutMs
  await before.roundTrip('just before the timeout')
  clock.advance(1)
  await shutdown
  await waitFor(() => before.isClosed() && during.isClosed() && u.tunnels.size === 0)
  t.pass("at timeoutMs both sides' sockets of every tunnel are closed and the shutdown is done")
  t.match(gw.logs.find((l) => l.msg.startsWith('shutdown timeout')), { inFlight: 2 }, 'the cut tunnels are counted')
})

t.test('the CLI with a tunnel open: SIGTERM closes it at shutdown.timeoutMs and exits 0', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 300 },
    pools: { ws: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'ws' }],
  })
  const cli = await startCli(t, file)
  const tunnel = await openTunnel(t, portOf(cli.url))
  cli.kill('SIGTERM')
  await cli.waitForRecord((r) => r.msg === CLOSED)
  await tunnel.roundTrip('after SIGTERM, before the timeout')
  const exit = await cli.exited
  // in time: a shutdown still running delayMs + timeoutMs + 5 s after the signal is ended with exit 1 (main.ts)
  t.strictSame(exit, { code: 0, signal: null }, 'exit 0')
  await waitFor(() => tunnel.isClosed() && u.tunnels.size === 0)
  t.pass("both sides' sockets are closed")
  t.match(cli.records.find((r) => r.msg.startsWith('shutdown timeout')), { inFlight: 1 }, 'the cut tunnel is logged')
})
