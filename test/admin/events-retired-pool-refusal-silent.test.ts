// A pool a reload rebuilt is retired, and the event feed stops listening to all of its old runtime, its outlier
// detector's refusals ("target not ejected, maxEjectionPercent reached") included: requests still in flight on the
// old runtime may fail and be refused an ejection there, but that is no news of the pool in force (whose own detector
// starts afresh, README: a reload that rebuilds a pool starts its outlier detection afresh). Otherwise the feed's last
// word on a target of the running pool could be a warning about a runtime no new request uses. The late failures are
// fed by hand while one real request holds the old runtime open. (src/admin/event-feed.ts watchPool's unwatch.)
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

t.test("an ejection refused on a rebuilt pool's old runtime: no event", async (t) => {
  // an upstream that holds its request: the old runtime keeps its targets until that request ends (registry retire())
  const held: ServerResponse[] = []
  const hang = createServer((_req, res) => { held.push(res) })
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { hang.closeAllConnections(); hang.close() })
  const hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`
  // no health checks; round-robin from the first target
  const config = (balancer: 'round-robin' | 'least-connections'): GatewayConfig => ({
    pools: { p: { targets: [hangUrl, 'http://127.0.0.1:1'], balancer, outlier: { consecutiveFailures: 2, maxEjectionPercent: 50 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next: unknown = config('round-robin')
  const gw = await startGateway(config('round-robin'), { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const old = gw.gateway.pools().get('p')!
  const [a, b] = old.pool.targets
  const inFlight = fetch(`${gw.url}/held`).then((r) => r.status, () => 0)
  await waitFor(() => held.length === 1)
  next = config('least-connections')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.not(gw.gateway.pools().get('p'), old, 'rebuilt')
  t.ok(old.pool.has(b!), 'the old runtime keeps its targets while its request is in flight')
  // late failures of requests that were in flight on the old runtime: one ejection, then one the cap refuses
  for (const target of [a!, b!]) for (let i = 0; i < 2; i++) old.outlier.failure(target, 'status', 503)
  t.equal(old.outlier.skipped, 1, 'the old runtime refused an ejection')
  t.same(gw.gateway.events.list().filter((e) => e.message.startsWith('target not ejected')), [], 'nothing recorded')
  for (const res of held) res.end('late')
  t.equal(await inFlight, 200)
})
