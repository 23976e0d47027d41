// A read of a split route when no replica can serve it is sent to the primary at admission, and the route is reported
// falling back at once (/status, one event): when the replicas are all out (their health check failing), and when
// their pool's circuit breaker is open (the gateway itself saying no replica may be asked). Were the replicas still
// chosen, each read would go to them first, be refused and only then fall back, and /status would say the reads are
// on the replicas until DEFAULT_FALLBACK_STREAK of them had fallen back, while every read went to the primary.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('every replica unhealthy: the first read goes to the primary and the route falls back at once', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const healthCheck = { path: '/health', intervalMs: 50, timeoutMs: 50, healthyThreshold: 1, unhealthyThreshold: 1, jitter: 0 }
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: {
      primary: { targets: [primary.url], retry: { attempts: 1 } },
      replicas: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false }, healthCheck },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const fallback = (): boolean | undefined => gw.gateway.status().routes[0]!.reads?.fallback
  const splitEvents = (): string[] => gw.gateway.events.list().filter((e) => e.kind === 'split').map((e) => e.message)
  const replicas = gw.gateway.pools().get('replicas')!

  replica.unhealthy = true
  await waitFor(() => replicas.pool.available().length === 0)
  const read = await httpRequest(`${gw.url}/m/1`)
  t.equal(read.status, 200)
  t.equal(read.echo().name, 'primary', 'the primary served the read')
  t.equal(fallback(), true, '/status: falling back after one read')
  t.strictSame(splitEvents(), ['no replica available or none answered: reads go to the primary'], 'said once')
  t.equal(replica.requests.length, 0, 'the replica was not asked')
})

t.test("replicas' breaker open: the first read goes to the primary and the route falls back at once", async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: {
      primary: { targets: [primary.url], retry: { attempts: 1 } },
      replicas: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 60_000 } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const fallback = (): boolean | undefined => gw.gateway.status().routes[0]!.reads?.fallback
  const splitEvents = (): string[] => gw.gateway.events.list().filter((e) => e.kind === 'split').map((e) => e.message)

  const first = await httpRequest(`${gw.url}/m/1`)
  t.equal(first.status, 200)
  t.equal(first.echo().name, 'replica', 'a replica serves while its breaker is closed')
  t.equal(fallback(), false)

  gw.gateway.pools().get('replicas')!.breaker.force('open')
  const read = await httpRequest(`${gw.url}/m/1`)
  t.equal(read.status, 200)
  t.equal(read.echo().name, 'primary', 'the primary served the read')
  t.equal(fallback(), true, '/status: falling back after one read')
  t.strictSame(splitEvents(), ['no replica available or none answered: reads go to the primary'], 'said once')
  t.equal(replica.requests.length, 1, 'the replica was not asked again')
})
