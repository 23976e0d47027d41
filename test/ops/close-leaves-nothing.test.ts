// close() ends what the gateway started, beyond the listeners: readiness says draining from then on (the gateway
// object outlives its listeners: an embedding process or a handover reads it), the dashboard's traffic history stops
// sampling (its timer, unref'd, would otherwise run for the life of the process, once per gateway ever built), and
// the log's buffered lines are written out (the batch writer holds them up to 100 ms or 64 KiB: a process that
// closes its gateway and then reads or ships its log must find every line there).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { LogFile } from '../../src/log-file.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { watchTimeouts } from '../helpers/intervals.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf } from '../proxy/raw.ts'
import { openTunnel } from '../proxy/ws-tunnel.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function upstream (t: Tap): Promise<TestUpstream> {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  return u
}

const config = (u: TestUpstream): GatewayConfig => ({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })

t.test('close() without a shutdown first: readiness and /status say draining', async (t) => {
  const u = await upstream(t)
  const gw = await startGateway(config(u), { defaultMetrics: false })
  t.teardown(() => gw.close())
  t.equal((await fetch(`${gw.url}/x`)).status, 200)
  await gw.close()
  t.equal(gw.gateway.readiness(), 'draining')
  t.equal(gw.gateway.status().readiness, 'draining')
})

t.test('close() stops the traffic history\'s sampling timer', async (t) => {
  const u = await upstream(t)
  // the history samples on the wall clock: its timers are told apart by who set them
  const timers = watchTimeouts(() => new Error().stack?.includes('history.ts') === true)
  t.teardown(() => timers.restore())
  const live = timers.live
  const gw = await startGateway(config(u), { defaultMetrics: false })
  t.teardown(() => gw.close())
  t.equal(live.size, 1, 'listen() started the sampling')
  await gw.close()
  t.equal(live.size, 0, 'close() cleared it')
})

t.test('close() writes out the log lines still buffered', async (t) => {
  const u = await upstream(t)
  const path = join(t.testdir(), 'gateway.log')
  // no flush timer: only a full batch or a flush writes
  const file = new LogFile(path, { flushMs: 0 })
  t.teardown(() => file.end())
  const gw = await startGateway(config(u), { defaultMetrics: false, logger: pino({ level: 'info' }, file) })
  t.teardown(() => gw.close())
  t.equal((await fetch(`${gw.url}/x`)).status, 200)
  await gw.close()
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { msg: string; status?: number })
  t.match(lines.filter((l) => l.msg === 'request'), [{ status: 200 }], 'the access-log line is in the file')
})

// close() without a shutdown first cuts the WebSocket tunnels still open, both sides: an upgraded connection is no
// request the server's close can end, and a tunnel left open would hold the listener's close (and its upstream
// socket) for as long as the client keeps it.
t.test('close() with a tunnel open cuts it and resolves', async (t) => {
  const u = await upstream(t)
  const gw = await startGateway(config(u), { defaultMetrics: false })
  t.teardown(() => gw.close())
  const tunnel = await openTunnel(t, portOf(gw.url))
  let closed = false
  void gw.close().then(() => { closed = true })
  await waitFor(() => closed && tunnel.isClosed() && u.tunnels.size === 0)
  t.pass('close() resolved and both sides of the tunnel are closed')
})
