// A target named by its bare host (its URL's default port left out) while a reload has replaced it: the running
// copy and the retiring one (finishing a request) share the URL, and the bare host named both, so the drain was
// refused 404 unknown_target. The running copy is the one named.
import { createServer, type ServerResponse } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { adminRequest } from './admin-request.ts'

// a loopback address of its own: port 80 there is free whatever else the machine runs
const HOST = '127.0.0.81'

t.test('a bare host names the running target, not also its retiring copy', async (t) => {
  const held: ServerResponse[] = []
  const server = createServer((_req, res) => { held.push(res) })
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(80, HOST, () => resolve(true))
  })
  if (!bound) return t.plan(0, 'port 80 cannot be bound here (not root)')
  t.teardown(() => { for (const res of held) res.end(); server.closeAllConnections(); server.close() })
  const config = (weight: number): GatewayConfig => ({ pools: { p: { targets: [{ url: `http://${HOST}`, weight }] } }, routes: [{ path: '/', pool: 'p' }] })
  let next: unknown = config(1)
  const gw = await startGateway(config(1), { defaultMetrics: false, env: {}, load: async () => validateConfig(next) })
  t.teardown(async () => { for (const res of held) res.end(); await gw.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const pending = fetch(`${gw.url}/slow`).then((r) => r.text())
  await waitFor(() => held.length === 1)
  next = config(2)
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.equal(gw.gateway.pools().get('p')!.pool.retiring.length, 1, 'the old copy is retiring')
  const drained = await adminRequest(admin, 'POST', `/pools/p/targets/${HOST}/drain`)
  t.equal(drained.status, 200, 'named by its bare host')
  t.equal((drained.body.target as { weight?: number } | undefined)?.weight, 2, 'the running copy')
  held[0]!.end('late')
  t.equal(await pending, 'late')
})
