// Gaps found by mutation testing (review r41c, reconstructing the thirtieth pass's untested
// "mirror resend racing the gateway's close" and "two microtask windows"). A shadow copy that met a stale kept-alive
// connection is sent once more on a new connection, on the next microtask (src/proxy/mirror.ts #stale, #resend). The
// gateway's close() aborts every copy first (abortMirrors: its pools' close must not wait for shadow traffic), and
// may land in that window two ways, each pinned here:
// - within the stale try's own turn, before the resend is decided: the copy is not sent again
//   (#stale: `|| this.#plan.mirrorCopies.closed`), so close() never waits for it and the mirror never sees it;
// - on a microtask queued before the resend's: the copy ends there, once (abort: `if (this.#resending)`, with no try
//   in flight, none of the target's counts held: the stale try was counted already), and the resend that follows
//   does nothing (#resend: `if (this.#done) return`): no copy after close() began, no count left held.
// The close is started from inside the stale try's handling by wrapping the mirror target's dropIdle(), which #stale
// calls first: that is the turn in which the reset is handled, the only place a close can land in the window.
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, type Tap, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

async function setup (t: Tap) {
  const main = await upstream(t, 'main')
  const shadow = await expiringUpstream(t)
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url], retry: { attempts: 2 } } },
    routes: [{ name: 'api', path: '/', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false })
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
  const mirrored = async (outcome: string): Promise<number> => (await series())[key('switchyard_mirror_requests_total', { route: 'api', outcome })] ?? 0
  // one copy delivered: the mirror target has a kept-alive connection
  t.equal((await httpRequest(`${gw.url}/warm`)).status, 200)
  await waitFor(async () => await mirrored('sent') === 1)
  t.strictSame(shadow.paths, ['/warm'])
  return { gw, shadow, target, series, mirrored }
}

for (const when of ['in the stale try\'s turn', 'on a microtask before the resend'] as const) {
  t.test(`close() ${when}: the copy is not sent again, and ends once`, async (t) => {
    const { gw, shadow, target, series, mirrored } = await setup(t)
    const connections = target.client
    const dropIdle = connections.dropIdle.bind(connections)
    let closing: Promise<void> | undefined
    connections.dropIdle = () => {
      dropIdle()
      if (closing !== undefined) return
      if (when === 'in the stale try\'s turn') closing = gw.gateway.close()
      else {
        closing = new Promise<void>((resolve) => queueMicrotask(() => { void gw.gateway.close().then(resolve) }))
      }
    }
    shadow.expire()
    t.equal((await httpRequest(`${gw.url}/copied`)).status, 200, 'the client is answered whatever the copy meets')
    await waitFor(() => closing !== undefined)
    await closing
    t.strictSame(shadow.paths, ['/warm'], 'the copy was not sent again once the gateway began closing')
    t.equal(target.inFlight, 0, "no request left counted in flight on the mirror target")
    t.equal(target.queued, 0)
    const s = await series()
    t.equal(s[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome: 'stale' })], 1, 'the stale try, counted once')
    t.equal(s[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome: 'client-abort' })], undefined, 'no second attempt counted for it')
    t.equal(await mirrored('failed'), 1, 'the copy, not delivered')
  })
}
