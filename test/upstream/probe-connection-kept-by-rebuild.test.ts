// A reload that rebuilds a pool (any pool setting changed: here its health-check interval) makes new copies of its
// targets. Their traffic connections were always shared across copies; their health probes now are too: the new
// checker probes on the connection the replaced one kept alive, which is neither opened again nor closed. A
// reload rebuilding 200 pools of 5 targets opened 1,000 probe connections and closed 1,000 in one turn of the loop.
// Copies made with other connection settings (another keep-alive time) get a connection of their own, and the old
// one closes once no copy probes on it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function probedUpstream (t: Tap) {
  let connections = 0
  let open = 0
  let probes = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/health') probes++
    res.end('ok')
  })
  // idle connections stay until the gateway closes them (Node's own 5 s would close a probe connection left behind)
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket) => { connections++; open++; socket.on('close', () => { open-- }) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, get connections () { return connections }, get open () { return open }, get probes () { return probes } }
}

const configOf = (url: string, intervalMs: number, keepAliveMs = 60_000): GatewayConfig => ({
  pools: { p: { targets: [url], healthCheck: { path: '/health', intervalMs, timeoutMs: 50 }, connections: { keepAliveMs } } },
  routes: [{ path: '/', pool: 'p' }],
})

t.test('a rebuilt pool probes on the connection its replaced checks kept alive', async (t) => {
  const u = await probedUpstream(t)
  let next = configOf(u.url, 100)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  await waitFor(() => u.probes >= 2)
  t.equal(u.connections, 1, 'one probe connection, kept alive')
  next = configOf(u.url, 120)
  t.equal((await gw.gateway.reload()).result, 'success')
  const after = u.probes
  await waitFor(() => u.probes >= after + 2)
  t.equal(u.connections, 1, 'the rebuilt pool probed on it: no new connection')
  t.equal(u.open, 1, 'and it is still open')
})

t.test('a rebuilt pool with other connection settings probes on a new connection, and the old one closes', async (t) => {
  const u = await probedUpstream(t)
  let next = configOf(u.url, 100)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  await waitFor(() => u.probes >= 2)
  next = configOf(u.url, 100, 30_000)
  t.equal((await gw.gateway.reload()).result, 'success')
  const after = u.probes
  await waitFor(() => u.probes >= after + 2)
  t.equal(u.connections, 2, 'a new connection for the new settings')
  await waitFor(() => u.open === 1)
  t.pass('the old one closed')
})
