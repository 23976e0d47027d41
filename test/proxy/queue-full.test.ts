// Requests waiting for one of a target's connections are capped (connections.maxQueuedPerTarget, Envoy's
// max_pending_requests): past the cap a request is 503 upstream_busy at once. The cap also bounds what a saturated
// target keeps after answering: undici holds a request that timed out in its queue (with its body) until a
// connection comes free, and before the cap every client that got its 503 left one more behind. Since the
// gateway keeps its own queue of each target's requests, one that ended while waiting leaves the queue at once.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, holdOnlyConnection, upstream } from './setup.ts'

t.test('a saturated target queues at most maxQueuedPerTarget requests; the rest are 503 upstream_busy at once', async (t) => {
  const busy = await upstream(t, 'busy')
  const gw = await gateway(t, {
    pools: { p: { targets: [busy.url], connections: { maxPerTarget: 1, maxQueuedPerTarget: 3 }, timeouts: { requestMs: 150 }, retry: { attempts: 1, maxBufferBytes: 16 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const undiciQueued = (): number => target.client.queued

  let seen = 0 // every request the upstream starts to receive
  busy.server.on('request', () => { seen++ })
  const held = await holdOnlyConnection(t, gw.url, target, () => seen === 1)

  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => httpRequest(`${gw.url}/waiting/${i}`)))
  t.same(answers.map((a) => a.status), Array(10).fill(503))
  t.same(answers.map((a) => a.json<ErrorBody>().error), Array(10).fill('upstream_busy'))
  t.equal(undiciQueued(), 0, 'the three that timed out waiting left the queue; the other seven never entered it')
  t.equal(target.queued, 0)
  t.equal(seen, 1, 'none reached the upstream')

  held.release()
  await waitFor(() => target.queued === 0 && undiciQueued() === 0)
  t.equal(seen, 1, 'the requests whose clients had their answer never reach the upstream')
  t.equal((await httpRequest(`${gw.url}/after`)).status, 200, 'the target serves again')
})
