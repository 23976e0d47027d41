// What a rebuilding reload carries of the health checks' verdicts (which targets a probe has passed, verifiedUrls()):
// - the verdict itself, not the current streak: a backup verified and then failing one probe (below
//   unhealthyThreshold) stays verified across a rebuild, and one carried in stays verified through a second rebuild;
// - only to the targets the rebuilt pool starts with: a target with the same URL that leaves and joins again later
//   (a reload changing the targets only, in place) is not verified until a probe of it passes.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

async function gatewayOf (t: Test) {
  const [p1, b1] = await Promise.all(['p1', 'b1'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all([p1!.close(), b1!.close()]))
  const config = (keepAliveMs: number, withBackup = true): GatewayConfig => ({
    pools: {
      p: {
        targets: withBackup ? [p1!.url, { url: b1!.url, backup: true }] : [p1!.url],
        connections: { keepAliveMs },
        // probes 300 ms apart: long enough for the checks below to come between them
        healthCheck: { path: '/health', intervalMs: 300, timeoutMs: 200, unhealthyThreshold: 3 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const state = { next: config(30_000) }
  const gw = await startGateway(state.next, { defaultMetrics: false, load: async () => validateConfig(state.next) })
  t.teardown(() => gw.close())
  const runtime = () => gw.gateway.pools().get('p')!
  const backup = () => runtime().pool.targets.find((x) => x.url === b1!.url)
  const reload = async (c: GatewayConfig): Promise<void> => { state.next = c; await gw.gateway.reload() }
  await waitFor(() => runtime().health!.verified(backup()!))
  return { b1: b1!, config, runtime, backup, reload }
}

t.test('a verified backup failing a probe since is still verified after two rebuilds', async (t) => {
  const { b1, config, runtime, backup, reload } = await gatewayOf(t)
  b1.unhealthy = true
  const seen = b1.healthChecks
  await waitFor(() => b1.healthChecks > seen)
  await new Promise((resolve) => setTimeout(resolve, 50)) // its failed probe is recorded
  t.equal(runtime().pool.state(backup()!), 'healthy', 'one failure: still in service')
  const first = runtime()
  await reload(config(20_000))
  t.not(runtime(), first, 'rebuilt')
  t.equal(runtime().health!.verified(backup()!), true, 'verified after the first rebuild')
  const second = runtime()
  await reload(config(10_000))
  t.not(runtime(), second, 'rebuilt again')
  t.equal(runtime().health!.verified(backup()!), true, 'verified after the second rebuild')
})

t.test('a backup carried verified that leaves and joins again is not verified before a probe of it passes', async (t) => {
  const { b1, config, runtime, backup, reload } = await gatewayOf(t)
  const first = runtime()
  await reload(config(20_000))
  t.not(runtime(), first, 'rebuilt')
  t.equal(runtime().health!.verified(backup()!), true, 'carried')
  const rebuilt = runtime()
  await reload(config(20_000, false))
  t.equal(runtime(), rebuilt, 'the targets changed in place')
  t.equal(backup(), undefined, 'the backup left')
  b1.unhealthy = true
  await reload(config(20_000, true))
  t.equal(runtime(), rebuilt, 'in place again')
  t.equal(runtime().health!.verified(backup()!), false, 'joined again: not verified')
  const seen = b1.healthChecks
  await waitFor(() => b1.healthChecks > seen)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(runtime().health!.verified(backup()!), false, 'its probe failed: still not verified')
})
