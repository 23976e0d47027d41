// switchyard_request_errors_total{route,pool,error} counts every routed request whose access-log line has an error
// code, whatever the code: its catalogue help names the gateway's own answers (upstream_timeout,
// upstream_unreachable, body_too_large...) besides the breaker's circuit_open. So a routed 504, 502 and 413 are each
// counted under their code, as their lines give it, and an upstream's own 503 (no error code on its line) is not
// (src/proxy/forward.ts #finish: observer.error for any error code). An alert on a route's upstream_timeout rate
// depends on it.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test("a routed 504, 502 and 413 are counted by their error codes; an upstream's own 503 is not", async (t) => {
  const slow = await TestUpstream.start({ name: 'slow' })
  slow.delayMs = 60_000
  const failing = await TestUpstream.start({ name: 'failing' })
  failing.failCount = 1000
  const plain = { retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } }
  const gw = await startGateway({
    pools: {
      slow: { targets: [slow.url], timeouts: { requestMs: 300 }, ...plain },
      gone: { targets: ['http://127.0.0.1:1'], ...plain },
      failing: { targets: [failing.url], ...plain },
    },
    routes: [
      { name: 'slow', path: '/slow', pool: 'slow' },
      { name: 'gone', path: '/gone', pool: 'gone' },
      { name: 'small', path: '/small', pool: 'failing', maxBodyBytes: 10 },
      { name: 'failing', path: '/failing', pool: 'failing' },
    ],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await slow.close(); await failing.close() })
  const status = async (path: string, init?: RequestInit): Promise<number> => { const res = await fetch(`${gw.url}${path}`, init); await res.arrayBuffer(); return res.status }
  t.equal(await status('/slow'), 504)
  t.equal(await status('/gone'), 502)
  t.equal(await status('/small', { method: 'POST', body: 'x'.repeat(100) }), 413)
  t.equal(await status('/failing'), 503)
  await waitFor(() => gw.accessLogs().length === 4)
  t.same(gw.accessLogs().map((l) => l.error), ['upstream_timeout', 'upstream_unreachable', 'body_too_large', undefined], 'the lines\' codes')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_request_errors_total', { route: 'slow', pool: 'slow', error: 'upstream_timeout' })], 1)
  t.equal(series[key('switchyard_request_errors_total', { route: 'gone', pool: 'gone', error: 'upstream_unreachable' })], 1)
  t.equal(series[key('switchyard_request_errors_total', { route: 'small', pool: 'failing', error: 'body_too_large' })], 1)
  t.same(Object.keys(series).filter((k) => k.startsWith('switchyard_request_errors_total{') && k.includes('route="failing"')), [], 'the upstream\'s own 503: no error series')
})
