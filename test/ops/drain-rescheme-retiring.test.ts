// A reload that changes a target's scheme (http:// to https:// on the same host:port) keeps one /status entry per
// host:port, while the old copy (a separate upstream client, counted apart) finishes the request it still has. Drained
// again after the reload, the entry says "draining" until that request ends, never "drained" with a request in
// flight: the rolling-deploy recipe waits for "drained" before it redeploys the upstream.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a target re-schemed by a reload and drained stays "draining" while its old copy has a request in flight', async (t) => {
  const a = await TestUpstream.start({ name: 'a' })
  t.teardown(() => a.close())
  const config = (scheme: 'http' | 'https'): GatewayConfig => ({ pools: { p: { targets: [`${scheme}://127.0.0.1:${a.port}`] } }, routes: [{ path: '/', pool: 'p' }] })
  let next = config('http')
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const idA = `127.0.0.1:${a.port}`
  const entries = (): Array<{ state: string; inFlight: number }> => gw.gateway.status().pools.p!.targets.filter((x) => x.id === idA).map(({ state, inFlight }) => ({ state, inFlight }))

  a.delayMs = 1500
  const slow = fetch(`${gw.url}/x`).then((r) => r.status)
  await waitFor(() => a.hits === 1)

  next = config('https')
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal((await fetch(`${admin}/pools/p/targets/${encodeURIComponent(idA)}/drain`, { method: 'POST' })).status, 200)
  t.strictSame(entries(), [{ state: 'draining', inFlight: 1 }], 'listed once, draining while the old copy has a request')

  t.equal(await slow, 200, 'the request in flight completes')
  await waitFor(() => entries()[0]?.state === 'drained')
  t.strictSame(entries(), [{ state: 'drained', inFlight: 0 }])
})
