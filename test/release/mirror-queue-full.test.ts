// A shadow copy for a mirror pool whose target's queue is full (connections.maxQueuedPerTarget copies or requests
// already wait for a connection) is not sent: undici would queue it past its deadline. It is counted as a request's
// would be in that spot: a busy attempt of the target's (switchyard_upstream_attempts_total{outcome="busy"}), not a
// failure of it, and `failed` in switchyard_mirror_requests_total; its mirror slot (maxConcurrent) is given back at
// once, and it never enters the target's queue.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, holdOnlyConnection, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('a copy for a full queue is a busy attempt, failed, and frees its slot', async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow')
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [shadow.url], connections: { maxPerTarget: 1, maxQueuedPerTarget: 1 }, retry: { maxBufferBytes: 16 } },
    },
    routes: [{ path: '/hold', pool: 'shadow' }, { name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false, env: {} })
  const plan = [...gw.gateway.proxy.state.plans!.values()].find((p) => p.mirror !== undefined)!
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
  const mirrored = async (outcome: string): Promise<number | undefined> =>
    (await series())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

  let seen = 0
  shadow.server.on('request', () => { seen++ })
  const held = await holdOnlyConnection(t, gw.url, target, () => seen === 1)

  t.equal((await httpRequest(`${gw.url}/api/1`)).status, 200)
  t.equal(target.queued, 1, 'the first copy waits for the connection: the queue is full')
  t.equal((await httpRequest(`${gw.url}/api/2`)).status, 200, 'the client never waits for the mirror')
  t.equal(target.queued, 1, 'the second copy never entered the queue')
  t.equal(plan.mirrorsInFlight, 1, "the second copy's slot was given back")
  t.equal(await mirrored('failed'), 1)
  t.equal((await series())[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome: 'busy' })], 1,
    'a busy attempt of the target, as a request would be')
  t.equal(target.failures, 0, 'not a failure of the target, which never saw it')

  held.release()
  await waitFor(async () => (await mirrored('sent')) === 1)
  t.equal(plan.mirrorsInFlight, 0)
  t.equal(seen, 2, 'the held request and the first copy reached the shadow, the second copy never did')
})
