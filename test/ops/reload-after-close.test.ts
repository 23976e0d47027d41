// A reload whose config was still loading when the gateway closed (a signal or an admin call during shutdown) is
// refused: it used to apply after close(), building pools whose health checks then probed their upstream forever,
// and retiring pools that close() had already closed.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a reload that finishes loading after close() applies nothing and starts nothing', async (t) => {
  let probes = 0
  const upstream = createServer((req, res) => {
    if (req.url === '/health') probes++
    res.end('ok')
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    upstream.closeAllConnections()
    upstream.close()
  })
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  const config = (intervalMs: number): GatewayConfig => ({ pools: { p: { targets: [url], healthCheck: { path: '/health', intervalMs, timeoutMs: 50 } } }, routes: [{ path: '/', pool: 'p' }] })
  let loaded!: () => void
  const loading = new Promise<void>((resolve) => { loaded = resolve })
  const gw = await startGateway(config(100), { defaultMetrics: false, load: async () => { await loading; return validateConfig(config(120)) } })
  const reloading = gw.gateway.reload('signal')
  await gw.close()
  loaded()
  t.equal((await reloading).result, 'error', 'the reload is refused')
  const before = probes
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(probes - before, 0, 'no health check runs after close()')
  t.equal(gw.gateway.config.pools.p!.healthCheck!.intervalMs, 100, 'the config in force stays')
})

// A reload asked of a gateway that is closed, or draining, is refused before its config is loaded: the answer is
// `refused: 'shutting_down'` (503 on the admin port, not counted as a rejected config), and the config file is not
// read nor run (a config module's code would run for nothing on a gateway on its way out, and an invalid file would
// be answered 422 invalid_config while the gateway drains). Only a load already running when the drain began is
// let finish (and then refused, or said invalid: reload.test.ts).

t.test('reload-refused-without-load', async (t) => {
  t.test('after close(): refused as shutting down, the config never loaded', async (t) => {
    const a = await TestUpstream.start({ name: 'a' })
    t.teardown(() => a.close())
    const config: GatewayConfig = { pools: { p: { targets: [a.url] } }, routes: [{ path: '/', pool: 'p' }] }
    let loads = 0
    const gw = await startGateway(config, { defaultMetrics: false, load: async () => { loads++; return validateConfig({ ...config, routes: [{ path: '/x', pool: 'p' }] }) } })
    t.teardown(() => gw.close())
    await gw.close()
    const result = await gw.gateway.reload('signal')
    t.equal(result.result, 'error')
    t.equal(result.refused, 'shutting_down', 'refused, not failed')
    t.equal(loads, 0, 'the config is not loaded')
    t.equal(gw.gateway.config.routes[0]!.path, '/', 'the config in force stays')
  })

  t.test('while draining: refused as shutting down, the config never loaded', async (t) => {
    const a = await TestUpstream.start({ name: 'a' })
    t.teardown(() => a.close())
    const config: GatewayConfig = { shutdown: { delayMs: 300, timeoutMs: 1000 }, pools: { p: { targets: [a.url] } }, routes: [{ path: '/', pool: 'p' }] }
    let loads = 0
    // an invalid file: loaded, it would be answered as invalid_config rather than refused
    const gw = await startGateway(config, { defaultMetrics: false, load: async () => { loads++; return validateConfig({ ...config, pools: { p: { targets: ['not a url'] } } }) } })
    t.teardown(() => gw.close())
    const shutdown = gw.gateway.shutdown()
    const result = await gw.gateway.reload('admin')
    t.equal(result.refused, 'shutting_down', 'refused')
    t.strictSame(result.problems, ['the gateway is shutting down'])
    t.equal(loads, 0, 'the config is not loaded')
    await shutdown
  })
})
