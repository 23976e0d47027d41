// A reload whose config was still loading when the gateway closed (a signal or an admin call during shutdown) is
// refused: it used to apply after close(), building pools whose health checks then probed their upstream forever,
// and retiring pools that close() had already closed.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'

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
