// A split read admitted before a reload removed its route, and served by the primary after it (the replica did not
// answer): its series were bound again at the fallback, from the route the reload had dropped, and exported for
// good; no later reload removed them. Bound at admission, as every binding is, the reload detaches them.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('a removed route\'s read that falls back after the reload exports no series of the route', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  let seen = 0
  const replica = createServer(() => { seen++ }) // never answers
  await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { replica.closeAllConnections(); replica.close(); await primary.close() })
  const replicaUrl = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`
  const withRoute: GatewayConfig = {
    log: { level: 'silent' },
    pools: { main: { targets: [primary.url] }, replicas: { targets: [replicaUrl], retry: { attempts: 1, perTryTimeoutMs: 300 } } },
    routes: [{ path: '/other', pool: 'main' }, { path: '/m', pool: 'main', name: 'members', reads: { pool: 'replicas' } }],
  }
  let next = withRoute
  const gw = await startGateway(next, { load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const read = httpRequest(`${gw.url}/m/1`)
  await waitFor(() => seen === 1)
  next = { ...withRoute, routes: [{ path: '/other', pool: 'main' }] }
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal((await read).status, 200, 'the primary served the read')
  t.equal(primary.requests.length, 1)
  t.notMatch(await gw.gateway.metrics!.render(), /route="members"/, 'no series of the removed route')
})
