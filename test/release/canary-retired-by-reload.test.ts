// Requests sent to a canary before a reload changed its settings end on the canary the reload replaced: their
// failures neither roll back the new canary nor report (in events and metrics) a rollback of the old one. Also when
// a reload in between left the canary alone (the request's plan is then older than the one the change replaced).
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

for (const reloadBetween of [false, true]) {
  t.test(`a replaced canary's requests in flight judge nothing${reloadBetween ? ', after a reload that kept it' : ''}`, async (t) => {
    const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
    t.teardown(() => Promise.all([stable.close(), canary.close()]))
    canary.failCount = 1_000_000
    canary.failStatus = 500
    canary.delayMs = 300
    const config = (weight: number, other = false): GatewayConfig => ({
      log: { level: 'silent' },
      pools: { stable: { targets: [stable.url] }, canary: { targets: [canary.url], circuitBreaker: { enabled: false }, outlier: { enabled: false }, retry: { attempts: 1 } } },
      routes: [
        { name: 'pay', path: '/', pool: 'stable', canary: { pool: 'canary', weight, force: { header: 'x-canary', values: ['always'] }, rollback: { maxErrorRatePercent: 5, minRequests: 10, windowMs: 30_000 } } },
        ...(other ? [{ name: 'other', path: '/other', pool: 'stable' }] : []),
      ],
    })
    let next = config(10)
    const gw = await startGateway(next, { load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    const inFlight = Array.from({ length: 10 }, () => httpRequest(`${gw.url}/x`, { headers: { 'x-canary': 'always' } }))
    await waitFor(() => canary.requests.length === 10)
    if (reloadBetween) {
      next = config(10, true) // another route added: the plans are rebuilt, the canary kept
      t.equal((await gw.gateway.reload()).result, 'success')
    }
    next = config(20, reloadBetween)
    t.equal((await gw.gateway.reload()).result, 'success')
    for (const res of await Promise.all(inFlight)) t.equal(res.status, 500)
    const route = gw.gateway.status().routes.find((r) => r.name === 'pay')!
    t.equal(route.canary!.weight, 20, 'the new canary keeps its weight from the file')
    t.equal(route.canary!.weightSource, 'file')
    t.notMatch(await gw.gateway.metrics!.render(), /switchyard_canary_rollbacks_total\{route="pay"\} [1-9]/, 'no rollback counted')
  })
}
