// A POST that meets a kept-alive connection of the canary's target that died while idle (a NAT's or load
// balancer's idle expiry: reset before any byte of an answer) is answered 502 and not sent again (POST is not
// resent). That is the keep-alive race, lost by the stable version's POSTs at the same rate, not the canary's error:
// before, automatic rollback counted it, and a canary that had answered every request it read was rolled back (a
// young canary, with few requests and long idle gaps, meets the race most). Now such a request says nothing of the
// version, while an error the canary answered still counts (the sanity case: rollback works in this config).
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const ROUNDS = 5

t.test('POSTs lost to stale canary connections do not roll the canary back; a 5xx it answers does', async (t) => {
  const stable = await upstream(t, 'stable')
  const canary = await expiringUpstream(t, { name: 'canary', status: (path) => path.startsWith('/fail') ? 500 : 200 })
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { stable: { targets: [stable.url] }, canary: { targets: [canary.url] } },
    // every request to the canary while its weight holds; rolled back past 5% errors once it has served 5
    routes: [{ name: 'api', path: '/', pool: 'stable', canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 5, minRequests: ROUNDS, windowMs: 60_000 } } }],
  })
  const c = () => gw.gateway.status().routes[0]!.canary!
  const rollbacks = async (): Promise<number> => seriesOf(await gw.gateway.metrics!.render())[key('switchyard_canary_rollbacks_total', { route: 'api' })] ?? 0

  for (let i = 0; i < ROUNDS; i++) {
    // a GET leaves a kept-alive connection at the canary's target (the last stale try closed its idle ones)...
    const warm = await httpRequest(`${gw.url}/warm${i}`)
    t.equal(warm.headers['x-upstream'], 'canary', `round ${i}: the GET served by the canary`)
    // ...which the middlebox expires while idle: the POST meets it, and is not sent again
    canary.expire()
    t.equal((await httpRequest(`${gw.url}/pay${i}`, { method: 'POST', body: 'x' })).status, 502, `round ${i}: the POST lost to the stale connection`)
  }
  await waitFor(() => gw.gateway.proxy.active === 0) // each request is judged as it ends
  t.equal(canary.paths.filter((p) => p.startsWith('/pay')).length, 0, 'the canary read none of the POSTs')
  t.strictSame(c().window.canary, { requests: ROUNDS, errors: 0 }, 'the lost POSTs are not counted for the canary')
  t.equal(c().weight, 100, 'not rolled back')
  t.equal(c().weightSource, 'file', 'the weight is still the file\'s')
  t.equal(await rollbacks(), 0, 'no rollback counted')
  t.equal((await httpRequest(`${gw.url}/next`)).headers['x-upstream'], 'canary', 'the next request still goes to the canary')

  // sanity: an error the canary answers itself is its own, and rolls it back in this config
  t.equal((await httpRequest(`${gw.url}/fail`, { method: 'POST', body: 'x' })).status, 500, 'the canary answered 500')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.strictSame(c().window.canary, { requests: ROUNDS + 2, errors: 1 }, "the canary's 500 is counted")
  t.equal(c().weight, 0, 'rolled back')
  t.equal(c().weightSource, 'rollback', 'by the rollback')
  t.equal(await rollbacks(), 1, 'one rollback counted')
})
