// Gap found by mutation testing (review r41c, reconstructing one of the thirtieth pass's
// untested mutants: "a mirror resend racing ... a full queue"). A shadow copy that met a stale kept-alive connection
// goes once more on a new connection (src/proxy/mirror.ts #resend), but, as its first try (mirror()), never past the
// mirror target's connections.maxQueuedPerTarget: a target whose queue is full makes the copy a busy attempt, and the
// copy is not delivered (mirror outcome failed), rather than queueing one request more than the limit allows behind
// the mirror pool's own traffic. Here the mirror pool has one connection and a queue of one: the copy is held on the
// dead connection while a request of the pool's own waits in the queue; the reset leaves no room for the resend.
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test("a copy's resend after a stale connection is busy when the mirror target's queue is full", async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await expiringUpstream(t, { holdExpired: true })
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [shadow.url], connections: { maxPerTarget: 1, maxQueuedPerTarget: 1 }, retry: { attempts: 2 } },
    },
    routes: [
      { name: 'own', path: '/own', pool: 'shadow' },
      { name: 'api', path: '/', pool: 'main', mirror: { pool: 'shadow', percent: 100 } },
    ],
  }, { defaultMetrics: false })
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
  const mirrored = async (outcome: string): Promise<number> => (await series())[key('switchyard_mirror_requests_total', { route: 'api', outcome })] ?? 0

  // the mirror target's one connection, kept alive
  t.equal((await httpRequest(`${gw.url}/own/warm`)).status, 200)
  shadow.expire()
  // the copy takes it and is held there; the pool's own request waits in the queue, which is then full
  t.equal((await httpRequest(`${gw.url}/copied`)).status, 200)
  await waitFor(() => shadow.held.length === 1)
  const own = httpRequest(`${gw.url}/own/queued`)
  await waitFor(() => target.queued === 1)
  t.ok(target.queueFull, "the mirror target's queue is full")
  shadow.resetHeld()
  t.equal((await own).status, 200, "the pool's own request is served")
  await waitFor(async () => await mirrored('failed') + await mirrored('sent') === 1)
  t.equal(await mirrored('failed'), 1, 'the copy was not delivered')
  t.strictSame(shadow.paths, ['/own/warm', '/own/queued'], 'the copy never went past the full queue')
  t.equal((await series())[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome: 'busy' })], 1, 'its resend counted busy')
  t.equal(target.inFlight, 0, 'nothing left in flight')
  t.equal(target.queued, 0, 'nothing left queued')
})
