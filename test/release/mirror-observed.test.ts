// Shadow copies are attempts of the mirror pool's targets (as Envoy counts them in the shadow cluster's upstream
// stats): each is counted in switchyard_upstream_attempts_total, the dashboard's /history and the target's /status
// requests and failures, with its real outcome. A copy the shadow service answered with an error is counted as
// error_status in switchyard_mirror_requests_total, apart from copies that were delivered (sent) and copies that
// could not be (failed): the errors of the version under test are what mirroring is there to show.
import t from 'tap'
import type { TrafficSummary } from '../../src/admin/history.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, refusedUrl, upstream, type Tap } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const COPIES = 4

async function mirrorTo (t: Tap, shadowUrl: string) {
  const main = await upstream(t, 'main')
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [shadowUrl], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false, env: {} })
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  for (let i = 0; i < COPIES; i++) t.equal((await httpRequest(`${gw.url}/api/${i}`)).status, 200)
  await waitFor(() => target.requests === COPIES)
  const series = seriesOf(await gw.gateway.metrics!.render())
  const attempts = (outcome: string): number | undefined => series[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })]
  const mirrored = (outcome: string): number | undefined => series[key('switchyard_mirror_requests_total', { route: 'api', outcome })]
  return { gw, target, attempts, mirrored }
}

t.test('copies the shadow answers 200 are successful attempts, sent', async (t) => {
  const shadow = await upstream(t, 'shadow')
  const { target, attempts, mirrored } = await mirrorTo(t, shadow.url)
  t.equal(attempts('success'), COPIES)
  t.equal(mirrored('sent'), COPIES)
  t.equal(mirrored('error_status'), undefined)
  t.equal(target.failures, 0)
})

t.test("copies answered 500 (not a failure status) are attempts, errors in /history, and error_status", async (t) => {
  const shadow = await upstream(t, 'shadow')
  shadow.failCount = 1_000
  shadow.failStatus = 500
  const { gw, target, attempts, mirrored } = await mirrorTo(t, shadow.url)
  t.equal(attempts('success'), COPIES, "answered: no failure of the target's, as for a request")
  t.equal(mirrored('error_status'), COPIES)
  t.equal(mirrored('sent'), undefined, 'an answered 500 is not counted as a copy that went well')
  t.same({ requests: target.requests, failures: target.failures }, { requests: COPIES, failures: 0 }, '/status counts them')
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  let summary: TrafficSummary | undefined
  // the history is sampled once a second
  await waitFor(async () => {
    summary = await (await fetch(`${admin}/history`)).json() as TrafficSummary
    return (summary.targets.shadow?.[target.id]?.rps ?? 0) > 0
  }, 3000)
  t.equal(summary!.targets.shadow![target.id]!.errorRate, 1, "the mirror pool's tile shows its copies' 500s")
})

t.test('copies answered with a failure status are status attempts, failures of the target, and error_status', async (t) => {
  const shadow = await upstream(t, 'shadow')
  shadow.failCount = 1_000
  shadow.failStatus = 503
  const { target, attempts, mirrored } = await mirrorTo(t, shadow.url)
  t.equal(attempts('status'), COPIES)
  t.equal(mirrored('error_status'), COPIES)
  t.same({ requests: target.requests, failures: target.failures }, { requests: COPIES, failures: COPIES })
})

t.test('copies to a target that refuses connections are connect failures, failed', async (t) => {
  const { target, attempts, mirrored } = await mirrorTo(t, await refusedUrl(t))
  t.equal(attempts('connect-failure'), COPIES)
  t.equal(mirrored('failed'), COPIES)
  t.same({ requests: target.requests, failures: target.failures }, { requests: COPIES, failures: COPIES })
})
