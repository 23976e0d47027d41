// What a rebuilding reload carries of the health checks' verdicts (which targets a probe had passed: a verified
// backup vouches for failing primaries past maxEjectionPercent, src/health/outlier.ts):
// - a verified backup is still verified in the rebuilt pool and takes over at once (before, review r43i: forgotten
//   until its next probe, up to an interval; two primaries failing on traffic kept the pool on them meanwhile);
// - a backup no probe has passed is not (AZ11, r43l: carrying every probed target would let two failing primaries
//   both go to it);
// - nothing is carried when the probe asks something else (AZ16: another path or expected status).
// More edges (a verdict, not a streak; carried again; a target that leaves and rejoins): verified-carry-edges.test.ts.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

/** Primaries p1, p2 and backup b1, probed once at start (the next probe a minute later); `rebuild()` changes a pool setting. */
async function threeTargets (t: Test, probe: { expectStatus?: string[] } = {}) {
  const [p1, p2, b1] = await Promise.all(['p1', 'p2', 'b1'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all([p1!.close(), p2!.close(), b1!.close()]))
  const config = (keepAliveMs: number, expectStatus = probe.expectStatus): GatewayConfig => ({
    pools: {
      p: {
        targets: [p1!.url, p2!.url, { url: b1!.url, backup: true }],
        connections: { keepAliveMs },
        retry: { attempts: 1 },
        circuitBreaker: { enabled: false },
        healthCheck: { path: '/health', intervalMs: 60_000, timeoutMs: 500, ...(expectStatus ? { expectStatus } : {}) },
        outlier: { consecutiveFailures: 3 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config(30_000)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const runtime = () => gw.gateway.pools().get('p')!
  const backup = () => runtime().pool.targets.find((x) => x.url === b1!.url)!
  const rebuild = async (expectStatus?: string[]): Promise<void> => {
    const before = runtime()
    next = config(20_000, expectStatus)
    await gw.gateway.reload()
    t.not(runtime(), before, 'the pool was rebuilt')
  }
  /** Both primaries fail every request from now; 12 requests. */
  const primariesFail = async (): Promise<void> => {
    p1!.failCount = 1e9
    p2!.failCount = 1e9
    for (let i = 0; i < 12; i++) await httpRequest(`${gw.url}/x`)
  }
  return { b1: b1!, gw, runtime, backup, rebuild, primariesFail }
}

t.test('a verified backup is still verified after a rebuilding reload, and takes over at once', async (t) => {
  const { gw, runtime, backup, rebuild, primariesFail } = await threeTargets(t)
  await waitFor(() => runtime().health!.verified(backup()))
  await rebuild()
  t.equal(runtime().health!.verified(backup()), true, 'the backup is still verified')
  await primariesFail()
  t.equal(runtime().pool.tier, 'backup', 'both failing primaries went: traffic is on the backup')
  t.equal((await httpRequest(`${gw.url}/x`)).status, 200)
})

t.test('a backup no probe has passed is not verified after a rebuilding reload: the pool-wide cap holds', async (t) => {
  const { b1, runtime, backup, rebuild, primariesFail } = await threeTargets(t)
  b1.unhealthy = true // its first probe fails: one failure, below unhealthyThreshold (3)
  await runtime().health!.firstRound()
  t.equal(runtime().health!.verified(backup()), false, 'its probe failed')
  t.equal(runtime().pool.state(backup()), 'healthy', 'still in service')
  b1.unhealthy = false
  await rebuild()
  t.equal(runtime().health!.verified(backup()), false, 'the backup is still not verified')
  await primariesFail()
  t.equal(runtime().pool.tier, 'primary', 'not both primaries ejected to an unverified backup')
  t.equal(b1.hits, 0)
})

t.test('a reload that changes what the probe expects drops the verdicts', async (t) => {
  const { runtime, backup, rebuild } = await threeTargets(t, { expectStatus: ['200-399'] })
  await waitFor(() => runtime().health!.verified(backup()))
  await rebuild(['204']) // the /health answers (200) fail the new probe
  await runtime().health!.firstRound()
  t.equal(runtime().health!.verified(backup()), false, 'not verified: the new probe has not passed')
  t.strictSame([...runtime().health!.verifiedUrls()], [])
})
