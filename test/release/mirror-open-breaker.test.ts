// A mirror pool whose breaker is open (its own route's requests failed) gets no shadow copies: its own traffic is
// kept off the sick upstream, and copies must not load it either. The copies skipped are counted as skipped_circuit.
// Half-open, copies go again: they never probe the breaker, so a pool with no traffic of its own would otherwise
// never get another copy.
import t from 'tap'
import { httpRequest } from '../proxy/http.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from '../proxy/setup.ts'

t.test('no copies reach a mirror pool whose breaker is open', async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow')
  shadow.failCount = 1_000_000 // every answer a 503
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [shadow.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { volumeThreshold: 5, resetTimeoutMs: 60_000 } },
    },
    routes: [{ path: '/shadow', pool: 'shadow' }, { path: '/b', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false })
  for (let i = 0; i < 6; i++) await httpRequest(`${gw.url}/shadow/x`)
  t.equal(gw.gateway.pools().get('shadow')!.breaker.state, 'open')
  const before = shadow.requests.length
  for (let i = 0; i < 10; i++) t.equal((await httpRequest(`${gw.url}/b/x`)).status, 200)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(shadow.requests.length, before, 'no copy reached the shadow upstream')
  const metrics = await gw.gateway.metrics!.render()
  t.match(metrics, /switchyard_mirror_requests_total\{route="[^"]*",outcome="skipped_circuit"\} 10/)
})

t.test('copies flow again once the breaker is half-open', async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow')
  shadow.failCount = 6
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [shadow.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { volumeThreshold: 5, resetTimeoutMs: 200 } },
    },
    routes: [{ path: '/shadow', pool: 'shadow' }, { path: '/b', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false })
  for (let i = 0; i < 6; i++) await httpRequest(`${gw.url}/shadow/x`)
  const breaker = gw.gateway.pools().get('shadow')!.breaker
  t.equal(breaker.state, 'open')
  await waitFor(() => breaker.state === 'half-open', 3000)
  const before = shadow.requests.length
  for (let i = 0; i < 5; i++) t.equal((await httpRequest(`${gw.url}/b/x`)).status, 200)
  await waitFor(() => shadow.requests.length === before + 5, 2000)
  t.equal(shadow.requests.length, before + 5, 'every copy reached the shadow upstream')
})
