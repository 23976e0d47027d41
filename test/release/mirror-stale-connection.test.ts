// Shadow copies on the mirror pool's kept-alive connections that died while idle (a NAT's or load balancer's idle
// expiry: the next request on one is reset before any byte of an answer). Before, each copy took the next dead idle
// connection (LIFO), was lost, and counted as the healthy mirror target's failure (outcome reset, /status failures,
// mirror outcome failed). Now a copy meets one stale connection at most, as a request does (src/proxy/attempt.ts):
// the target's other idle connections are closed, the copy goes once more on a new connection, and the stale try is
// counted as outcome stale, no failure of the target's.
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, type Tap, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const WARM = 6

async function mirrorTo (t: Tap) {
  const main = await upstream(t, 'main')
  const shadow = await expiringUpstream(t, { delayMs: (path) => path.startsWith('/warm') ? 50 : 0 }) // copies sent at once each take a connection
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url] } },
    routes: [{ name: 'api', path: '/', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false })
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
  const attempts = async (outcome: string): Promise<number> => (await series())[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })] ?? 0
  const mirrored = async (outcome: string): Promise<number> => (await series())[key('switchyard_mirror_requests_total', { route: 'api', outcome })] ?? 0
  /** Copies ended, whatever their outcome. */
  const ended = async (): Promise<number> => await mirrored('sent') + await mirrored('failed') + await mirrored('error_status')
  /** Copies sent at once, so the mirror target has several kept-alive connections, then idle. */
  const warm = async (): Promise<void> => {
    const before = await ended()
    for (const r of await Promise.all(Array.from({ length: WARM }, (_, i) => httpRequest(`${gw.url}/warm${i}`)))) t.equal(r.status, 200)
    await waitFor(async () => await ended() === before + WARM)
  }
  return { gw, shadow, target, attempts, mirrored, ended, warm, series }
}

t.test('after idle expiries, every copy reaches the mirror and none is the target\'s failure', async (t) => {
  const { gw, shadow, target, attempts, mirrored, ended, warm, series } = await mirrorTo(t)
  for (let round = 1; round <= 2; round++) {
    await warm()
    shadow.expire()
    for (let i = 0; i < 4; i++) {
      t.equal((await httpRequest(`${gw.url}/after${round}-${i}`)).status, 200)
      // one after another: each copy ends before the next request
      await waitFor(async () => await ended() === round * (WARM + 4) - 3 + i)
    }
    t.equal(shadow.paths.filter((p) => p.startsWith(`/after${round}-`)).length, 4, `round ${round}: every copy reached the mirror`)
    t.ok(await attempts('stale') <= round, `round ${round}: one stale try at most per expiry`)
  }
  t.equal(await attempts('stale'), 2, 'the stale tries are counted as such')
  t.equal(await attempts('reset'), 0, 'none is a reset')
  t.equal(await mirrored('failed'), 0, 'no copy failed')
  t.equal(await mirrored('sent'), 2 * (WARM + 4))
  t.equal((await series())[key('switchyard_retries_total', { pool: 'shadow', reason: 'stale' })], 2, 'each stale try sent once more')
  t.equal(target.failures, 0, "/status: no failure of the mirror target's")
  t.equal(gw.gateway.status().routes[0]!.mirror!.inFlight, 0, 'every mirror slot given back')
})

t.test('a copy whose try on a new connection fails too is a failure of the target', async (t) => {
  const { gw, shadow, target, attempts, mirrored, ended, warm } = await mirrorTo(t)
  await warm()
  shadow.expire()
  shadow.resetAll = true
  t.equal((await httpRequest(`${gw.url}/down`)).status, 200, 'the client never waits for the mirror')
  await waitFor(async () => await ended() === WARM + 1)
  t.equal(await attempts('stale'), 1)
  t.equal(await attempts('reset'), 1, 'the try on a new connection is a reset')
  t.equal(await mirrored('failed'), 1)
  t.equal(target.failures, 1)
  t.equal(gw.gateway.status().routes[0]!.mirror!.inFlight, 0)
})

// as a request's: a POST that met a stale connection is not sent twice (the mirror pool's retry policy says so)
t.test('a POST copy on a stale connection is not resent, and not the target\'s failure', async (t) => {
  const { gw, shadow, target, attempts, mirrored, ended, warm } = await mirrorTo(t)
  await warm()
  shadow.expire()
  t.equal((await httpRequest(`${gw.url}/pay`, { method: 'POST', body: 'x' })).status, 200)
  await waitFor(async () => await ended() === WARM + 1)
  t.equal(await attempts('stale'), 1)
  t.equal(await attempts('reset'), 0)
  t.equal(await mirrored('failed'), 1, 'not delivered')
  t.equal(target.failures, 0)
  t.equal(shadow.paths.filter((p) => p === '/pay').length, 0, 'not sent on a new connection')
  // the dead idle connections were closed: the next copy goes out on a new one
  t.equal((await httpRequest(`${gw.url}/pay`, { method: 'POST', body: 'y' })).status, 200)
  await waitFor(async () => await ended() === WARM + 2)
  t.equal(await mirrored('sent'), WARM + 1)
  t.equal(await attempts('stale'), 1)
  t.equal(target.failures, 0)
})
