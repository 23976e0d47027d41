// POST /routes/:route/canary takes a weight from 0 to 100, both ends included (README: "N from 0 to 100"): 0 is the
// operator's way to stop a canary at once (as a rollback does), 100 to send it every request. Just outside either
// end is 400 bad_request, leaving the weight as it was.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

t.test('weights 0 and 100 are taken; just outside them is refused', async (t) => {
  const [stable, next] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'next' })])
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, next: { targets: [next.url] } },
    routes: [{ name: 'shop', path: '/', pool: 'stable', canary: { pool: 'next', weight: 10 } }],
  }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await stable.close(); await next.close() })
  const setWeight = (weight: number) => adminRequest(admin, 'POST', '/routes/shop/canary', { 'content-type': 'application/json' }, JSON.stringify({ weight }))

  for (const weight of [0, 100]) {
    const res = await setWeight(weight)
    t.equal(res.status, 200, `weight ${weight}`)
    t.equal(res.body.weight, weight)
  }
  for (const weight of [-0.5, 100.5]) {
    const res = await setWeight(weight)
    t.equal(res.status, 400, `weight ${weight}`)
    t.equal(res.body.error, 'bad_request')
  }
  t.equal((await setWeight(50)).body.weight, 50, 'a weight inside the range is taken again')
})
