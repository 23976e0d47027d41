// A shadow copy for a mirror pool with no target available (all disabled, drained or ejected) cannot be sent: it is
// counted `failed`, and gives its mirror slot back at once. A slot kept would count against maxConcurrent for good,
// and after maxConcurrent such requests the route would mirror nothing again (skipped_concurrency) once the pool
// is back.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('copies for a mirror pool with no target available fail and free their slot', async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow')
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url] } },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100, maxConcurrent: 1 } }],
  }, { defaultMetrics: false, env: {} })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const { pool } = gw.gateway.pools().get('shadow')!
  const target = pool.targets[0]!
  const mirrored = async (outcome: string): Promise<number | undefined> =>
    seriesOf(await gw.gateway.metrics!.render())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

  pool.setStatus(target, { disabled: true })
  for (let i = 0; i < 3; i++) t.equal((await httpRequest(`${gw.url}/api/${i}`)).status, 200)
  t.equal(await mirrored('failed'), 3, 'each copy found no target')
  t.equal(await mirrored('skipped_concurrency'), undefined, 'none was refused for a slot')
  t.equal(plan.mirrorsInFlight, 0)

  pool.setStatus(target, { disabled: false })
  t.equal((await httpRequest(`${gw.url}/api/back`)).status, 200)
  await waitFor(() => shadow.requests.length === 1)
  t.equal(shadow.requests[0]!.url, '/api/back', 'the pool back, copies go again')
})
