// A rebuilding reload carries which targets a probe had passed only when the probe asks the same thing (same path,
// same expected statuses): a verdict on another question says nothing of this one. A backup verified under the old
// probe, failing the new one, is not verified in the rebuilt pool (it would vouch for failing primaries past
// maxEjectionPercent, src/health/outlier.ts).
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a reload that changes what the probe expects drops the verdicts', async (t) => {
  const [p1, b1] = await Promise.all(['p1', 'b1'].map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all([p1!.close(), b1!.close()]))
  const config = (expectStatus: string[]): GatewayConfig => ({
    pools: {
      p: {
        targets: [p1!.url, { url: b1!.url, backup: true }],
        healthCheck: { path: '/health', intervalMs: 60_000, timeoutMs: 500, expectStatus },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config(['200-399'])
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const runtime = () => gw.gateway.pools().get('p')!
  const backup = () => runtime().pool.targets.find((x) => x.url === b1!.url)!
  await waitFor(() => runtime().health!.verified(backup()))
  const before = runtime()
  next = config(['204']) // the /health answers (200) fail the new probe
  await gw.gateway.reload()
  t.not(runtime(), before, 'the pool was rebuilt')
  await runtime().health!.firstRound()
  t.equal(runtime().health!.verified(backup()), false, 'not verified: the new probe has not passed')
  t.strictSame([...runtime().health!.verifiedUrls()], [])
})
