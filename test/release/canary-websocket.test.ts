// WebSocket upgrades judge a canary as requests do: a new version whose upgrades fail (here its upstream refuses
// connections: 502) is rolled back once minRequests of them have been seen; before, upgrades were not counted, so a
// version that broke every WebSocket stayed in.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { rawHandshake } from '../proxy/raw.ts'
import { wsHandshake } from '../proxy/ws-tunnel.ts'

t.test('failed upgrades to the canary roll it back', async (t) => {
  const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
  await canary.refuse()
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, canary: { targets: [canary.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
    routes: [{ name: 'chat', path: '/', pool: 'stable', canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 50, minRequests: 5, windowMs: 30_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await stable.close(); await canary.close() })
  const port = Number(new URL(gw.url).port)
  for (let i = 0; i < 5; i++) {
    const { response, socket } = await rawHandshake(port, wsHandshake('/ws', `ws-canary-${i}`))
    socket.destroy()
    t.equal(response.status, 502, `upgrade ${i} to the refusing canary`)
  }
  const route = gw.gateway.status().routes.find((r) => r.name === 'chat')!
  t.equal(route.canary!.weight, 0, 'rolled back')
  t.equal(route.canary!.weightSource, 'rollback')
  const { response, socket } = await rawHandshake(port, wsHandshake('/ws', 'ws-after'))
  t.teardown(() => socket.destroy())
  t.equal(response.status, 101, 'the next upgrade goes to the stable version')
})
