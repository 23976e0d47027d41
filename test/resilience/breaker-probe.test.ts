// A half-open breaker closes only on an answer from the upstream: a probe that never reached one proves nothing and
// counts nothing (it used to reopen the breaker): the breaker stays half-open and the next request probes.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a probe that finds no available target leaves the breaker open', async (t) => {
  const up = await TestUpstream.start()
  const gw = await startGateway({
    pools: { p: { targets: [up.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { volumeThreshold: 1, resetTimeoutMs: 200 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  t.teardown(async () => { await gw.close(); await up.close() })
  const runtime = gw.gateway.pools().get('p')!
  up.failCount = 5
  up.failStatus = 503
  t.equal((await fetch(`${gw.url}/a`)).status, 503)
  t.equal((await fetch(`${gw.url}/a`)).status, 503)
  await waitFor(() => runtime.breaker.state !== 'closed') // open, or half-open already on a slow host (resetTimeoutMs 200)
  runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: true })
  await waitFor(() => runtime.breaker.state === 'half-open')
  const probe = await fetch(`${gw.url}/a`)
  t.equal(probe.status, 503)
  t.equal(((await probe.json()) as { error: string }).error, 'no_available_target')
  t.equal(runtime.breaker.state, 'half-open', 'no answer from the upstream: neither closed nor reopened')
  t.equal(runtime.breaker.allows(), true, 'the probe slot is free again')
  t.equal(((await (await fetch(`${gw.url}/a`)).json()) as { error: string }).error, 'no_available_target', 'the next request probes')
  t.equal(runtime.breaker.state, 'half-open')

  // with the target back and healthy, the next probe closes it
  up.failCount = 0
  runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: false })
  t.equal((await fetch(`${gw.url}/a`)).status, 200)
  t.equal(runtime.breaker.state, 'closed')
})
