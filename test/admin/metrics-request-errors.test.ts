// A route's answers the gateway gave itself are counted apart from the upstream's own statuses:
// switchyard_request_errors_total{route,pool,error} counts every routed request whose access-log line has an error
// code, so the breaker's 503 circuit_open and an upstream's own 503 are told apart (requests_total{code="503"} counts
// both), and the counters agree with the access log's error field line for line. Before, only the access log told
// them apart (review r37b; Envoy counts upstream_cx_none_healthy and the like apart from response codes).
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test("the breaker's 503s and the upstream's own are counted apart, and agree with the access log", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  u.failCount = 3 // three 503s of its own, then 200
  const gw = await startGateway({
    pools: { p: { targets: [u.url], retry: { attempts: 1 }, outlier: { enabled: false } } },
    routes: [{ name: 'api', path: '/api', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const get = async (): Promise<number> => { const res = await fetch(`${gw.url}/api`); await res.arrayBuffer(); return res.status }
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push(await get())
  gw.gateway.pools().get('p')!.breaker.force('open')
  for (let i = 0; i < 2; i++) statuses.push(await get())
  t.same(statuses, [503, 503, 503, 503, 503], "three of the upstream's, two of the breaker's")
  await waitFor(() => gw.accessLogs().length === 5)
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_requests_total', { route: 'api', pool: 'p', method: 'GET', code: '503' })], 5, 'requests_total counts all five as 503')
  t.equal(series[key('switchyard_request_errors_total', { route: 'api', pool: 'p', error: 'circuit_open' })], 2, 'the breaker\'s own, apart')
  const logged = new Map<string, number>()
  for (const line of gw.accessLogs()) if (typeof line.error === 'string') logged.set(line.error, (logged.get(line.error) ?? 0) + 1)
  const counted = new Map<string, number>()
  for (const [name, value] of Object.entries(series)) {
    const m = /^switchyard_request_errors_total\{.*error="([a-z_]+)".*\}$/.exec(name)
    if (m !== null) counted.set(m[1]!, value)
  }
  t.same([...counted].sort(), [...logged].sort(), 'every error code of the access log, counted as often')
})
