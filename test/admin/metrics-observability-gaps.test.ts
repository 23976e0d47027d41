// Gaps an observability review found (.review-obs/REPORT.md, findings 1, 2 and 4): a request or upgrade whose client
// left while it waited its pipelined turn had a 499 access-log line and no count anywhere; the in-flight gauge's HELP
// left out the tunnels it counts; and no series said the config on disk was currently rejected.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { ConfigError } from '../../src/errors.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, parseExposition, seriesOf } from '../unit/metrics-exposition.ts'
import { openTunnel, wsHandshake } from '../proxy/ws-tunnel.ts'

const config = (u: TestUpstream): GatewayConfig => ({ pools: { p: { targets: [u.url], retry: { attempts: 1 } } }, routes: [{ path: '/api', pool: 'p', name: 'api' }] })

async function setup (t: Test, options: Parameters<typeof startGateway>[1] = {}): Promise<{ gw: TestGateway; port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway(config(u), { defaultMetrics: false, ...options })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, port: Number(new URL(gw.url).port), u }
}

const render = async (gw: TestGateway): Promise<string> => gw.gateway.metrics!.render()

t.test('a request, upgrade or CONNECT whose client leaves before its pipelined turn is counted once, as its 499 line', async (t) => {
  const { gw, port, u } = await setup(t)
  // the first request's answer is still owed when the client leaves, so what follows it waits its turn
  u.delayMs = 2000
  const behind = [
    'GET /api/second HTTP/1.1\r\nHost: a\r\n\r\n',
    wsHandshake('/api/ws', 'ws-behind'),
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
  ]
  for (const [i, second] of behind.entries()) {
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(`GET /api/first-${i} HTTP/1.1\r\nHost: a\r\n\r\n${second}`)
    await waitFor(() => u.hits === i + 1)
    c.socket.destroy()
    await waitFor(() => gw.accessLogs().length === 2 * (i + 1))
  }
  const lines = gw.accessLogs()
  t.same(lines.map((l) => l.status), [499, 499, 499, 499, 499, 499], 'every one logged 499')
  t.equal(lines.filter((l) => l.route === undefined).length, 3, 'three never reached a route')
  const series = seriesOf(await render(gw))
  t.equal(series[key('switchyard_refused_requests_total', { code: '499', error: 'client_closed' })], 3, 'the waiting ones are refusals: 499 client_closed')
  t.equal(series[key('switchyard_requests_total', { route: 'api', pool: 'p', method: 'GET', code: '499' })], 3, 'the ones in flight are their route\'s 499s')
  const counted = Object.entries(series).filter(([k]) => /^switchyard_(refused_)?requests_total\{/.test(k)).reduce((sum, [, v]) => sum + v, 0)
  t.equal(counted, lines.length, 'each access-log line counted once')
})

t.test("switchyard_target_in_flight's HELP names the tunnels it counts", async (t) => {
  const { gw, port } = await setup(t)
  await openTunnel(t, port, '/api/ws')
  const text = await render(gw)
  const inFlight = Object.entries(seriesOf(text)).filter(([k]) => k.startsWith('switchyard_target_in_flight{')).map(([, v]) => v)
  t.same(inFlight, [1], 'one tunnel, no request: 1 in flight')
  t.match(parseExposition(text).helps.get('switchyard_target_in_flight'), /tunnels/i, 'the HELP says so')
})

t.test('switchyard_config_last_reload_successful: 0 while the config on disk is rejected', async (t) => {
  let next: () => GatewayConfig
  const { gw, u } = await setup(t, { load: async () => validateConfig(next()) })
  const gauge = async (): Promise<number | undefined> => seriesOf(await render(gw))['switchyard_config_last_reload_successful']
  const reload = async (load: () => GatewayConfig, result: string, extra: Record<string, unknown> = {}): Promise<void> => {
    next = load
    t.match(await gw.gateway.reload('admin'), { result, ...extra })
  }
  const rejected = (): GatewayConfig => { throw new ConfigError(['routes: not an array']) }
  // the gateway's own shortage (out of file descriptors), not the file's fault
  const shortage = (): GatewayConfig => { throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }) }
  const changed = (): GatewayConfig => ({ ...config(u), routes: [...config(u).routes, { path: '/b', pool: 'p' }] })

  t.equal(await gauge(), 1, 'at start')
  await reload(rejected, 'error')
  t.equal(await gauge(), 0, 'after a rejected config')
  await reload(shortage, 'error', { localFailure: 'EMFILE' })
  t.equal(await gauge(), 0, 'a shortage of the gateway\'s leaves it as it was (0)')
  await reload(changed, 'success')
  t.equal(await gauge(), 1, 'after a successful reload')
  await reload(shortage, 'error', { localFailure: 'EMFILE' })
  t.equal(await gauge(), 1, 'a shortage of the gateway\'s leaves it as it was (1)')
  await reload(rejected, 'error')
  await reload(changed, 'unchanged')
  t.equal(await gauge(), 1, 'after an unchanged reload')
  await reload(rejected, 'error')
  t.equal(await gauge(), 0)
  await gw.close()
  await reload(changed, 'error', { refused: 'shutting_down' })
  t.equal(await gauge(), 0, 'a reload refused while shutting down leaves it as it was')
  t.equal(seriesOf(await render(gw))[key('switchyard_config_reloads_total', { result: 'error' })], 3, 'the counter counts the rejections only')
  t.equal(parseExposition(await render(gw)).types.get('switchyard_config_last_reload_successful'), 'gauge')
})
