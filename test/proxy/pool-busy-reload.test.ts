// connections.maxRequests across reloads. A reload that keeps the pool (its settings unchanged: here only a route
// changed) keeps its count, so the requests in flight before it still count against the bound. A reload that changes
// maxRequests (or any setting of the pool) builds the pool anew, as Envoy builds a new cluster with counts of its
// own: the new bound applies to the requests that arrive from then on, counted afresh, and the ones the replaced pool
// still runs end there (README's connections row says so).
import { request } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream, type Tap } from './setup.ts'

function park (t: Tap, url: string): void {
  const req = request(url, { agent: false })
  req.on('error', () => { /* destroyed */ })
  t.teardown(() => { req.destroy() })
  req.end()
}

t.test('a kept pool keeps its count; a new maxRequests applies to new requests', async (t) => {
  const up = await upstream(t, 'hanging')
  up.mode = 'hang'
  const config = (maxRequests: number, routeName: string): GatewayConfig => ({
    pools: { p: { targets: [up.url], connections: { maxRequests }, retry: { attempts: 1 } } },
    routes: [{ name: routeName, path: '/', pool: 'p' }],
  })
  let next = config(1, 'first')
  const gw = await gateway(t, next, { defaultMetrics: false, load: async () => validateConfig(next) })
  const runtime = () => gw.gateway.pools().get('p')!
  const error = async (path: string): Promise<string | undefined> => (await httpRequest(`${gw.url}${path}`)).json<ErrorBody>().error

  park(t, `${gw.url}/parked/1`)
  await waitFor(() => runtime().budget.active === 1 && up.hits === 1)
  t.equal(await error('/refused/1'), 'pool_busy')

  const before = runtime()
  next = config(1, 'renamed')
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(runtime(), before, 'only a route changed: the pool is kept')
  t.equal(await error('/refused/2'), 'pool_busy', 'the request parked before the reload still counts')

  next = config(3, 'renamed')
  t.equal((await gw.gateway.reload()).result, 'success')
  t.not(runtime(), before, 'a new maxRequests builds the pool anew')
  park(t, `${gw.url}/parked/2`)
  park(t, `${gw.url}/parked/3`)
  park(t, `${gw.url}/parked/4`)
  await waitFor(() => runtime().budget.active === 3 && up.hits === 4)
  t.equal(before.budget.active, 1, 'the replaced pool still runs its own')
  t.equal(await error('/refused/3'), 'pool_busy', 'the new bound, 3, counted from the reload on')
  t.equal(up.hits, 4)
})
