// A route's plan outlives a reload while the requests and mirror copies it admitted finish; what they report then
// (a canary rollback, a mirror copy's outcome) goes to the route's series as it is now. A route the reload moved to
// another pool (a blue-green cutover) still has its series and counts them: a rollback that took effect on the live
// route must reach switchyard_canary_rollbacks_total. A route the reload removed has none, and gets none back.
import type { ServerResponse } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import type { Tap } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

/** An upstream that holds every answer until the test releases it with a status. */
async function heldUpstream (t: Tap) {
  const held: ServerResponse[] = []
  const { url } = await serveOnLoopback(t, (req, res) => { req.resume(); held.push(res) })
  return { url, held: () => held.length, release: (status: number) => { for (const res of held.splice(0)) res.writeHead(status).end('x') } }
}

t.test('a canary rollback of a request admitted before a reload moved its route to another pool is counted', async (t) => {
  const [blue, green] = await Promise.all([TestUpstream.start({ name: 'blue' }), TestUpstream.start({ name: 'green' })])
  t.teardown(() => Promise.all([blue.close(), green.close()]))
  const canary = await heldUpstream(t)
  const config = (pool: string): GatewayConfig => ({
    log: { level: 'silent' },
    pools: {
      blue: { targets: [blue.url] },
      green: { targets: [green.url] },
      canary: { targets: [canary.url], retry: { attempts: 1 }, circuitBreaker: { enabled: false }, outlier: { enabled: false } },
    },
    routes: [{ name: 'api', path: '/', pool, canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 5, minRequests: 1, windowMs: 30_000 } } }],
  })
  let next = config('blue')
  const gw = await startGateway(next, { load: async () => validateConfig(next), defaultMetrics: false })
  t.teardown(() => gw.close())
  const inFlight = httpRequest(`${gw.url}/x`)
  await waitFor(() => canary.held() === 1)
  next = config('green') // the cutover keeps the canary's settings: its decider and window are carried over
  t.equal((await gw.gateway.reload()).result, 'success')
  canary.release(500)
  t.equal((await inFlight).status, 500)
  // judged when the gateway's side of the exchange finishes, which the client may see the end of first
  const canaryOf = () => gw.gateway.status().routes.find((r) => r.name === 'api')!.canary!
  await waitFor(() => canaryOf().weightSource === 'rollback')
  t.equal(canaryOf().weight, 0, 'the live route was rolled back')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_canary_rollbacks_total', { route: 'api' })], 1, 'and the rollback is counted')
})

for (const reload of ['moved', 'removed'] as const) {
  t.test(`a mirror copy that answers after a reload ${reload} its route ${reload === 'moved' ? 'is counted' : 'counts nowhere'}`, async (t) => {
    const [blue, green] = await Promise.all([TestUpstream.start({ name: 'blue' }), TestUpstream.start({ name: 'green' })])
    t.teardown(() => Promise.all([blue.close(), green.close()]))
    const shadow = await heldUpstream(t)
    const config = (routes: GatewayConfig['routes']): GatewayConfig => ({
      log: { level: 'silent' },
      pools: { blue: { targets: [blue.url] }, green: { targets: [green.url] }, shadow: { targets: [shadow.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
      routes,
    })
    const api = (pool: string) => ({ name: 'api', path: '/api', pool, mirror: { pool: 'shadow', percent: 100 } })
    let next = config([api('blue'), { name: 'other', path: '/other', pool: 'green' }])
    const gw = await startGateway(next, { load: async () => validateConfig(next), defaultMetrics: false })
    t.teardown(() => gw.close())
    t.equal((await httpRequest(`${gw.url}/api/1`)).status, 200)
    await waitFor(() => shadow.held() === 1)
    next = config(reload === 'moved' ? [api('green'), { name: 'other', path: '/other', pool: 'green' }] : [{ name: 'other', path: '/other', pool: 'green' }])
    t.equal((await gw.gateway.reload()).result, 'success')
    const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
    shadow.release(200)
    // the copy's attempt and its mirror outcome are counted together, when its answer ends
    await waitFor(() => target.requests === 1)
    const text = await gw.gateway.metrics!.render()
    if (reload === 'moved') t.equal(seriesOf(text)[key('switchyard_mirror_requests_total', { route: 'api', outcome: 'sent' })], 1, 'the copy is counted')
    else {
      // changed: its (route, pool) series are shown once more (final counts) at this first scrape, but no mirror series
      t.notMatch(text, /switchyard_mirror_requests_total\{[^}]*route="api"/, 'no mirror series of the removed route')
      t.notMatch(await gw.gateway.metrics!.render(), /route="api"/, 'no series of the removed route')
    }
  })
}
