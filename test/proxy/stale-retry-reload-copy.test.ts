// Gap found by mutation testing (review r41c, mutant AG59, left open since review r37): the
// try that goes back to a target after its stale kept-alive connection goes to the target's copy in the pool running
// now (src/proxy/same-targets.ts availableAgain: `current`, not the request's own `target`). A reload between the
// request's first try and that retry (a weight change makes a new copy in the same pool; a changed pool setting
// rebuilds the pool) leaves the request holding the old copy. Copies share connections and counts, so the retry is
// served alike either way, but the pool and its outlier detector know only the running copy: a failure of the try sent
// through the old copy was never counted against the target (OutlierDetector.failure ignores a target its pool does
// not have), so a target failing every request after such a reload was not ejected. Here the upstream answers 500
// (a failure status) from the reload on, with consecutiveFailures 1: the retry's 500 ejects the target, and the next
// requests go to the other one.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { expiringUpstream, get } from '../helpers/expiring-upstream.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

const reloads = {
  'a weight change (a new copy in the same pool)': { weight: 2, requestMs: 30_000 },
  'a pool setting changed (the pool rebuilt)': { weight: 1, requestMs: 20_000 },
}

for (const [reload, change] of Object.entries(reloads)) {
  t.test(`after ${reload}, the try back to the stale target counts against its running copy`, async (t) => {
    let statusOfA = 200
    const a = await expiringUpstream(t, { name: 'a', holdExpired: true, status: () => statusOfA })
    const b = await expiringUpstream(t, { name: 'b', holdExpired: true })
    const config = (weight: number, requestMs: number): GatewayConfig => ({
      pools: {
        p: {
          targets: [{ url: a.url, weight }, b.url],
          retry: { attempts: 2, backoff: { baseMs: 1, maxMs: 2 } },
          failureStatuses: [500],
          outlier: { consecutiveFailures: 1, baseEjectionMs: 60_000 },
          circuitBreaker: { enabled: false },
          timeouts: { requestMs },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    })
    let next = config(1, 30_000)
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
    t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
    a.expire()
    // round robin: a's turn, on its kept-alive connection, which holds it
    const answer = get(`${gw.url}/held`)
    await waitFor(() => a.held.length === 1)
    next = config(change.weight, change.requestMs)
    t.equal((await gw.gateway.reload()).result, 'success')
    // from now on a fails every request it reads
    statusOfA = 500
    a.resetHeld()
    const res = await answer
    t.equal(res.status, 500, 'the try back to a, on a new connection, got its 500')
    t.equal(res.upstream, 'a')
    const pool = gw.gateway.pools().get('p')!.pool
    const current = pool.targets.find((x) => x.url === a.url)!
    t.ok(pool.status(current).ejectedUntil > 0, "a's running copy is ejected (consecutiveFailures 1)")
    const after = [await get(`${gw.url}/next1`), await get(`${gw.url}/next2`)]
    t.strictSame(after.map((r) => r.upstream), ['b', 'b'], 'the next requests go to b alone')
  })
}
